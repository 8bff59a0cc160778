"""Runs of the ingest job against the simulator under a fault profile, shared by a module's tests."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from tests.helpers import serve


@dataclass
class ProfileRun:
    sim: object
    data: Path
    partitions: list[tuple[str, date]]
    failed: list[str]
    checks: dict = field(default_factory=dict)  # (check name, agency, day) -> AssetCheckEvaluation

    def check(self, name: str, code: str, day: date):
        return self.checks[name, code, day]

    def quarantine(self, code: str, day: date) -> list[dict]:
        """Every quarantined record of the agency-day, parse and validation stages together."""
        folder = self.data / "quarantine" / "dossiers" / f"date={day}" / f"agency={code}"
        return [row for path in sorted(folder.glob("*.parquet")) for row in pq.read_table(path).to_pylist()]

    def partition_file(self, layer: str, kind: str, code: str, day: date, name: str) -> Path:
        return self.data / layer / kind / f"date={day}" / f"agency={code}" / name


def check_evaluations(instance: dg.DagsterInstance) -> dict:
    out = {}
    records = instance.get_event_records(dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION))
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if evaluation.partition is None:
            continue
        code, day = _agency_day(evaluation.partition)
        out[evaluation.asset_check_key.name, code, day] = evaluation
    return out


def _agency_day(partition: str) -> tuple[str, date]:
    # Multi-partition keys are "<agency>|<date>" (dimensions in alphabetical order).
    agency, day = partition.split("|")
    return agency, date.fromisoformat(day)


@contextmanager
def pipeline(tmp_path: Path, sim):
    """The simulator served, the data directory set, the registry pulled: (defs, instance, data)."""
    monkeypatch = pytest.MonkeyPatch()
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("EGOV_DATA_DIR", str(data))
    server = serve(sim, tmp_path, monkeypatch)
    try:
        from pipelines.definitions import defs
        from pipelines.runner import register_agencies

        with dg.DagsterInstance.ephemeral() as instance:
            assert register_agencies(defs, instance)
            yield defs, instance, data
    finally:
        server.shutdown()
        monkeypatch.undo()


def run_profile(tmp_path: Path, partitions, *, faults: str, seed: int, scale: float, now: datetime,
                drift_from: date | None = None) -> ProfileRun:
    """The ingest job (sources, checks, gate) for each agency-day under a fault profile."""
    from simulator import Simulation

    from pipelines.runner import ingest

    sim = Simulation(seed=seed, scale=scale, faults=faults, now=now, drift_from=drift_from)
    with pipeline(tmp_path, sim) as (defs, instance, data):
        failed = ingest(defs, instance, partitions, log_level="CRITICAL")
        checks = check_evaluations(instance)
    return ProfileRun(sim=sim, data=data, partitions=partitions, failed=failed, checks=checks)

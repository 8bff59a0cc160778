"""Runs of the ingest job against the simulator under a fault profile, shared by a module's tests."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from tests.helpers import ingest_days, register, serve


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


@dataclass
class AgencyDayCheck:
    """One agency-day's part of a run's check result, as the UI's failures table shows it."""

    passed: bool
    severity: str
    description: str
    failures: str
    quarantined: int
    data_docs_url: str


def check_evaluations(instance: dg.DagsterInstance) -> dict:
    """(check name, agency, day) → AgencyDayCheck, from every check result of every run: an
    agency-day in the result's failures table failed (ERROR when its failures block), every
    other agency-day the run judged passed."""
    out = {}
    records = instance.get_event_records(dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION),
                                         ascending=True)
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        metadata = {k: v.value for k, v in evaluation.metadata.items()}
        if "suite" not in metadata or not hasattr(metadata.get("failures"), "records"):
            continue
        failed = {(r.data["agency"], date.fromisoformat(r.data["day"])): r.data for r in metadata["failures"].records}
        for key in _judged(instance, record.run_id):
            row = failed.get(key)
            text = row["failures"] if row else "none"
            out[evaluation.asset_check_key.name, *key] = AgencyDayCheck(
                passed=row is None, severity="ERROR" if "BLOCKING" in text else "WARN",
                description=evaluation.description or "", failures=text,
                quarantined=int(row["quarantined"]) if row else 0, data_docs_url=str(metadata["data_docs_url"]))
    return out


def _judged(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, date]]:
    """The agency-days a run validated, from its per-day observations on validated_dossiers."""
    keys = []
    for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_OBSERVATION).records:
        observation = record.event_log_entry.dagster_event.event_specific_data.asset_observation
        if observation.asset_key == dg.AssetKey("validated_dossiers"):
            day = date.fromisoformat(observation.partition)
            keys += [(r.data["agency"], day) for r in observation.metadata["agency_days"].value.records]
    return keys


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
        with dg.DagsterInstance.ephemeral() as instance:
            assert register(defs, instance)
            yield defs, instance, data
    finally:
        server.shutdown()
        monkeypatch.undo()


def run_profile(tmp_path: Path, partitions, *, faults: str, seed: int, scale: float, now: datetime,
                drift_from: date | None = None) -> ProfileRun:
    """The ingest job (sources, checks, gate) for each agency-day under a fault profile."""
    from simulator import Simulation

    sim = Simulation(seed=seed, scale=scale, faults=faults, now=now, drift_from=drift_from)
    with pipeline(tmp_path, sim) as (defs, instance, data):
        failed = ingest_days(defs, instance, [d for _, d in partitions], [c for c, _ in partitions],
                             log_level="CRITICAL")
        checks = check_evaluations(instance)
    return ProfileRun(sim=sim, data=data, partitions=partitions, failed=failed, checks=checks)

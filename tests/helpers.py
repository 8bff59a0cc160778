"""Helpers the tests share."""

import json
import time
from dataclasses import dataclass

import duckdb

# Release files stamped with when the release was made (and the checksums of those): two runs
# of the same days differ there by design, and nowhere else.
STAMPED = {"CHANGELOG.md", "datapackage.json", "dcat.jsonld", "freshness.json", "SHA256SUMS"}


def file_bytes(folder, pattern: str) -> dict:
    """{path under `folder`: bytes} of the files matching `pattern`."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.glob(pattern) if p.is_file()}


def wait_for(condition, what: str, process=None, log=None, *, seconds: float, poll: float = 0.2):
    """`condition()`'s first true value, polled until `seconds` have passed (a safety net for a
    hang, not a measure); fails at once, with the tail of `log`, if `process` exits first."""
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        if process is not None and process.poll() is not None:
            raise AssertionError(f"exited ({process.returncode}) before {what}"
                                 + (":\n" + log.read_text(errors="replace")[-4000:] if log else ""))
        time.sleep(poll)
    return value


def serve(sim, tmp_path, monkeypatch):
    """Start `sim` on 127.0.0.1 and point the pipeline at it, as `make run` does."""
    from simulator import start_server

    server, base_url = start_server(sim)
    tokens_file = tmp_path / "tokens.json"
    tokens_file.write_text(json.dumps({a["MaDonVi"]: sim.token(a["MaDonVi"]) for a in sim.agencies()}))
    monkeypatch.setenv("EGOV_SOURCE_URL", base_url)
    monkeypatch.setenv("EGOV_AGENCY_TOKENS_FILE", str(tokens_file))
    return server


def read_marts(data_dir, names) -> dict:
    """KPI marts straight from the warehouse (read-only), codes kept as strings."""
    with duckdb.connect(str(data_dir / "warehouse" / "kpi.duckdb"), read_only=True) as con:
        return {name: con.execute(f"select * from {name}").df() for name in names}


def register(defs, instance) -> bool:
    """registry_job in process: lands agencies.parquet."""
    return defs.resolve_job_def("registry_job").execute_in_process(instance=instance, raise_on_error=False).success


def ingest_days(defs, instance, days, agencies=None, log_level: str | None = None) -> list[str]:
    """ingest_job in process over `days` (one run per stretch of consecutive days), for every
    agency reporting or only `agencies`, as the backfill's runs do; returns the agency-days
    left out of validated/ ("<code> <day>")."""
    from pipelines.defs.partitions import AGENCIES_TAG
    from pipelines.defs.schedules import RANGE_END_TAG, RANGE_START_TAG
    from pipelines.lib import paths
    from pipelines.lib.agency_days import agency_days

    days = sorted(set(days))
    assert agency_days(days, agencies), f"no agency of {agencies or 'the registry'} reports on {days}: nothing to run"
    stretches, current = [], [days[0]]
    for day in days[1:]:
        if (day - current[-1]).days == 1:
            current.append(day)
        else:
            stretches.append(current)
            current = [day]
    stretches.append(current)
    job = defs.resolve_job_def("ingest_job")
    for stretch in stretches:
        tags = {RANGE_START_TAG: stretch[0].isoformat(), RANGE_END_TAG: stretch[-1].isoformat()}
        if agencies:
            tags[AGENCIES_TAG] = ",".join(sorted(set(agencies)))
        config = {"loggers": {"console": {"config": {"log_level": log_level}}}} if log_level else None
        job.execute_in_process(instance=instance, tags=tags, raise_on_error=False, run_config=config)
    return [f"{code} {day}" for code, day in agency_days(days, agencies) if not paths.is_validated(code, day)]


def build_kpis(defs, instance, tags=None) -> bool:
    """kpi_job in process: the dbt models, then the release."""
    return defs.resolve_job_def("kpi_job").execute_in_process(instance=instance, raise_on_error=False,
                                                              tags=tags).success


@dataclass
class GraphReport:
    failed: list
    kpi_ok: bool


def run_graph(sim, root, days, agencies) -> tuple:
    """The whole graph (registry, the days' runs, KPIs) against `sim` on loopback, in process on
    an ephemeral Dagster instance, into `root`/data; returns (data directory, report)."""
    import dagster as dg
    import pytest

    monkeypatch = pytest.MonkeyPatch()
    data = root / "data"
    data.mkdir()
    monkeypatch.setenv("EGOV_DATA_DIR", str(data))
    server = serve(sim, root, monkeypatch)
    try:
        from pipelines.definitions import defs

        with dg.DagsterInstance.ephemeral() as instance:
            assert register(defs, instance)
            failed = ingest_days(defs, instance, days, agencies)
            report = GraphReport(failed=failed, kpi_ok=build_kpis(defs, instance))
    finally:
        server.shutdown()
        monkeypatch.undo()
    return data, report

"""Run the whole graph for a range of days on a Dagster instance: what `make run` does.

The registry first (it registers agency partitions), then one run per agency-day for the
sources and their checks, then one run of the dbt models and the export. A failed agency-day
does not stop the others: it is reported by name, and its KPIs are not published.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Callable, Iterable

import dagster as dg
import pyarrow.parquet as pq

from pipelines.defs.partitions import agency_day_key
from pipelines.lib import paths
from pipelines.lib.reference import agency_valid_on
from pipelines.settings import TIMEZONE


@dataclass
class RunReport:
    days: list[date]
    partitions: int = 0
    failed: list[str] = field(default_factory=list)
    kpi_ok: bool = False


def last_complete_days(count: int, today: date | None = None) -> list[date]:
    """The `count` days before today (Asia/Ho_Chi_Minh), oldest first."""
    today = today or datetime.now(TIMEZONE).date()
    return [today - timedelta(days=n) for n in range(count, 0, -1)]


def agencies_valid_on(day: date) -> list[str]:
    agencies = pq.read_table(paths.agencies_file()).to_pylist()
    return [a["agency_code"] for a in agencies if agency_valid_on(a, day)]


def ingest_partitions(
    defs: dg.Definitions, instance: dg.DagsterInstance, partitions: Iterable[tuple[str, date]]
) -> list[str]:
    """One `ingest_job` run per agency-day; returns the agency-days that failed or were blocked."""
    ingest = defs.resolve_job_def("ingest_job")
    failed = []
    for code, day in partitions:
        result = ingest.execute_in_process(instance=instance, partition_key=agency_day_key(code, day), raise_on_error=False)
        blocked = any(
            e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.event_specific_data.passed
            and e.event_specific_data.severity == dg.AssetCheckSeverity.ERROR
            for e in result.all_events
        )
        if not result.success or blocked:
            failed.append(f"{code} {day}")
    return failed


def _worker_ingest(partitions: list[tuple[str, date]]) -> list[str]:
    """In a worker process: load the code location once, then run its share of agency-days."""
    from pipelines.definitions import defs

    with dg.DagsterInstance.get() as instance:
        return ingest_partitions(defs, instance, partitions)


def run_days(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    days: list[date],
    *,
    agencies: list[str] | None = None,
    workers: int = 1,
    progress: Callable[[str], None] = print,
) -> RunReport:
    """Registry, then every agency-day (in `workers` processes on a persistent instance), then the KPIs."""
    report = RunReport(days=days)
    registry = defs.resolve_job_def("registry_job").execute_in_process(instance=instance, raise_on_error=False)
    if not registry.success:
        report.failed.append("agency registry")
        return report
    partitions = [(code, day) for day in days for code in agencies_valid_on(day) if agencies is None or code in agencies]
    report.partitions = len(partitions)
    progress(f"  ingesting {len(partitions)} agency-days in {workers} process(es)")
    if workers <= 1 or instance.is_ephemeral:
        report.failed = ingest_partitions(defs, instance, partitions)
    else:
        # Interleaved shares keep each worker on every day; spawn: no threads or sockets inherited.
        shares = [partitions[i::workers] for i in range(workers)]
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            report.failed = [f for failed in pool.map(_worker_ingest, shares) for f in failed]
    progress(f"  {len(partitions) - len(report.failed)} agency-days validated, {len(report.failed)} failed or blocked")
    kpis = defs.resolve_job_def("kpi_job").execute_in_process(instance=instance, raise_on_error=False)
    report.kpi_ok = kpis.success
    return report

"""Run the whole graph for a range of days on a Dagster instance: what `make run` does.

The registry first (it registers agency partitions), then one run per agency-day for the
sources and their checks, then one run of the dbt models and the export. A failed agency-day
does not stop the others: it is reported by name, and its KPIs are not published.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Callable

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


def run_days(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    days: list[date],
    *,
    agencies: list[str] | None = None,
    progress: Callable[[str], None] = print,
) -> RunReport:
    report = RunReport(days=days)
    registry = defs.resolve_job_def("registry_job").execute_in_process(instance=instance, raise_on_error=False)
    if not registry.success:
        report.failed.append("agency registry")
        return report
    ingest = defs.resolve_job_def("ingest_job")
    for day in days:
        codes = [c for c in agencies_valid_on(day) if agencies is None or c in agencies]
        for code in codes:
            result = ingest.execute_in_process(
                instance=instance, partition_key=agency_day_key(code, day), raise_on_error=False
            )
            report.partitions += 1
            blocked = any(
                e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.event_specific_data.passed
                and e.event_specific_data.severity == dg.AssetCheckSeverity.ERROR
                for e in result.all_events
            )
            if not result.success or blocked:
                report.failed.append(f"{code} {day}")
        progress(f"  {day}: {len(codes)} agencies ingested, {len(report.failed)} agency-days failed or blocked so far")
    kpis = defs.resolve_job_def("kpi_job").execute_in_process(instance=instance, raise_on_error=False)
    report.kpi_ok = kpis.success
    return report

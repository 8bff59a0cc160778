"""Backfill a range of days for some or all agencies, with a progress bar.

The same steps as `make run` (registry, one run per agency-day, then the KPIs once), over any
range: a backfill of a quarter rebuilds the KPIs once, not ninety times. Agency-days that fail
are listed by name and stay out of the KPIs; rerunning the same command retries them (and
replaces the others byte for byte).
"""

from __future__ import annotations

import sys
from datetime import date, timedelta
from typing import TextIO

import dagster as dg
import pyarrow.parquet as pq
from tqdm import tqdm

from pipelines.lib import paths
from pipelines.runner import RunReport, agency_days, build_kpis, ingest, register_agencies

BACKFILL_TAG = "egov/backfill"


def date_range(start: date, end: date) -> list[date]:
    """Every day from `start` to `end`, both included."""
    if end < start:
        raise ValueError(f"the backfill ends ({end}) before it starts ({start})")
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def unknown_agencies(agencies: list[str]) -> list[str]:
    """Codes the registry does not know (a typo would otherwise backfill nothing, silently)."""
    known = set(pq.read_table(paths.agencies_file(), columns=["agency_code"]).column("agency_code").to_pylist())
    return sorted(set(agencies) - known)


def backfill(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    start: date,
    end: date,
    *,
    agencies: list[str] | None = None,
    workers: int = 1,
    out: TextIO = sys.stderr,
    show_progress: bool = True,
) -> RunReport:
    """Ingest every agency-day from `start` to `end` (agencies valid each day, or only `agencies`),
    then rebuild and publish the KPIs once."""
    report = RunReport(days=date_range(start, end))
    if not register_agencies(defs, instance):
        report.failed.append("agency registry")
        return report
    if agencies and (unknown := unknown_agencies(agencies)):
        raise ValueError(f"not in the agency registry: {', '.join(unknown)}")
    partitions = agency_days(report.days, agencies)
    report.partitions = len(partitions)
    with tqdm(total=len(partitions), unit="agency-day", desc=f"{start} … {end}", file=out,
              disable=not show_progress, dynamic_ncols=True) as bar:
        failures = 0

        def done(code: str, day: date, ok: bool) -> None:
            nonlocal failures
            failures += not ok
            bar.set_postfix_str(f"{code} {day}" + (f", {failures} failed" if failures else ""), refresh=False)
            bar.update()

        quiet = "WARNING" if show_progress else None
        report.failed = ingest(defs, instance, partitions, workers=workers, on_done=done, log_level=quiet)
    report.kpi_ok = build_kpis(defs, instance, tags={BACKFILL_TAG: f"{start}/{end}"})
    return report

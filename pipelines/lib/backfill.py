"""Backfill a range of days for some or all agencies, with a progress bar.

The same steps as `make run` (pipelines.runner.run_days: registry, one run per agency-day,
then the KPIs once), over any range: a backfill of a quarter rebuilds the KPIs once, not
ninety times. Agency-days that fail are listed by name and stay out of the KPIs; rerunning the
same command retries them (and replaces the others byte for byte).
"""

from __future__ import annotations

import sys
from datetime import date, timedelta
from typing import TextIO

import dagster as dg

from pipelines.runner import RunReport, progress_bar, run_days

BACKFILL_TAG = "egov/backfill"


def date_range(start: date, end: date) -> list[date]:
    """Every day from `start` to `end`, both included."""
    if end < start:
        raise ValueError(f"the backfill ends ({end}) before it starts ({start})")
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


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
    then rebuild and publish the KPIs once, tagged as this backfill."""
    days = date_range(start, end)
    with progress_bar(f"{start} … {end}", out=out, enabled=show_progress) as hooks:
        return run_days(defs, instance, days, agencies=agencies, workers=workers,
                        tags={BACKFILL_TAG: f"{start}/{end}"}, **hooks)

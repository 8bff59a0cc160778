"""Daily partitions (Asia/Ho_Chi_Minh), with the agencies inside each run.

A partition is a day; a run covers a range of days and every agency reporting on each (or the
agencies its `egov/agencies` tag names, to re-run one agency-day alone). Why not agency × day
partitions: docs/operations.md, "Runs and partitions".
"""

from __future__ import annotations

import os
from datetime import date

import dagster as dg

from pipelines.lib.agency_days import agency_days, parse_agency_list
from pipelines.settings import PARTITIONS_START, TIMEZONE_NAME

DAILY_PARTITIONS = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, timezone=TIMEZONE_NAME, end_offset=0)
# A backfill of D days launches ceil(D / DAYS_PER_RUN) ingest runs; two run at once on two cores.
# Each run pays ~10 s of its own (a process, the code location, Great Expectations' context):
# a fortnight's run keeps that under a tenth of a run at 0.01, and a failed run costs two weeks.
# A deployment with many workers at national volume (1.2 million versions a day) sets fewer
# (`EGOV_DAYS_PER_RUN`, read by every process that loads the code location: the same everywhere).
DAYS_PER_RUN_ENV = "EGOV_DAYS_PER_RUN"
DAYS_PER_RUN = max(1, int(os.environ.get(DAYS_PER_RUN_ENV) or 14))
INGEST_BACKFILL_POLICY = dg.BackfillPolicy.multi_run(max_partitions_per_run=DAYS_PER_RUN)
# Run tag: the agencies a run is limited to (comma-separated codes); absent, every agency.
AGENCIES_TAG = "egov/agencies"


def run_days(context) -> list[date]:
    """The days of the partitions a run is materializing, oldest first."""
    return [date.fromisoformat(key) for key in context.partition_keys]


def run_agency_days(context) -> list[tuple[str, date]]:
    """The agency-days of a run: its days × the agencies reporting on each (or those its tag names)."""
    return agency_days(run_days(context), parse_agency_list(context.run.tags.get(AGENCIES_TAG)))

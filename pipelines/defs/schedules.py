"""Schedules, in Asia/Ho_Chi_Minh: the registry, yesterday, a re-pull of the days before
(agencies change dossier statuses after the day), and the monthly close.

Each ingestion tick is one run covering all its days and every agency reporting on them; the
`kpi_after_ingest` sensor rebuilds the KPIs once that run (the tick's batch) has finished.
Schedules start stopped: turning them on is a deployment decision (docs/operations.md).
"""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from pipelines.defs.publish import MONTHLY_CLOSE, PERIOD_TAG, RELEASE_TAG
from pipelines.lib import paths
from pipelines.settings import TIMEZONE, TIMEZONE_NAME

BATCH_TAG = "egov/batch"
# Days before the tick that are pulled again: dossiers move status for days after they arrive.
REPULL_DAYS = (2, 3, 4)
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def tick_day(context: dg.ScheduleEvaluationContext) -> date:
    return context.scheduled_execution_time.astimezone(TIMEZONE).date()


def days_request(batch: str, first: date, last: date):
    """One `ingest_job` run for the days first … last (every agency reporting on each), as a batch."""
    if not paths.agencies_file().exists():
        return dg.SkipReason("no agency registry landed yet: run registry_job once (docs/operations.md)")
    return dg.RunRequest(run_key=batch, tags={BATCH_TAG: batch, RANGE_START_TAG: first.isoformat(),
                                              RANGE_END_TAG: last.isoformat()})


@dg.schedule(cron_schedule="5 0 * * *", job_name="registry_job", execution_timezone=TIMEZONE_NAME)
def registry_daily(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """The agency registry just after midnight, so the day's runs see new and retired agencies."""
    return dg.RunRequest(run_key=f"registry:{tick_day(context)}")


@dg.schedule(cron_schedule="30 0 * * *", job_name="ingest_job", execution_timezone=TIMEZONE_NAME)
def ingest_daily(context: dg.ScheduleEvaluationContext):
    """Yesterday, for every agency reporting yesterday: one run."""
    day = tick_day(context) - timedelta(days=1)
    return days_request(f"daily:{day}", day, day)


@dg.schedule(cron_schedule="0 3 * * *", job_name="ingest_job", execution_timezone=TIMEZONE_NAME)
def repull_recent(context: dg.ScheduleEvaluationContext):
    """Days −4 … −2 again, in one run: status changes that arrived late land in the KPIs within days."""
    today = tick_day(context)
    return days_request(f"repull:{today}", today - timedelta(days=max(REPULL_DAYS)),
                        today - timedelta(days=min(REPULL_DAYS)))


@dg.schedule(cron_schedule="0 6 1 * *", job_name="kpi_job", execution_timezone=TIMEZONE_NAME)
def monthly_close(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """On the 1st, after the month's last day was ingested (00:30) and re-pulled days settled
    (03:00): rebuild and publish; the release is a minor one that closes the month (its CHANGELOG
    says so, releases.json records `closes`), even when the daily runs already published its days."""
    period = (tick_day(context) - timedelta(days=1)).strftime("%Y-%m")
    return dg.RunRequest(run_key=f"monthly-close:{period}", tags={RELEASE_TAG: MONTHLY_CLOSE, PERIOD_TAG: period})


SCHEDULES = [registry_daily, ingest_daily, repull_recent, monthly_close]

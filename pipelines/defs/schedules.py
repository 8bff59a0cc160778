"""Schedules, in Asia/Ho_Chi_Minh: the registry, yesterday's agency-days, a re-pull of the days
before (agencies change dossier statuses after the day), and the monthly close.

Every ingestion run a schedule requests carries its batch (`egov/batch`) and the batch's size,
so that the `kpi_after_ingest` sensor can rebuild the KPIs once, when the whole batch is done.
Schedules start stopped: turning them on is a deployment decision (docs/operations.md).
"""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from pipelines.defs.partitions import AGENCY_PARTITIONS, agency_day_key
from pipelines.defs.publish import MONTHLY_CLOSE, PERIOD_TAG, RELEASE_TAG
from pipelines.lib import paths
from pipelines.runner import agency_days
from pipelines.settings import TIMEZONE, TIMEZONE_NAME

BATCH_TAG = "egov/batch"
BATCH_SIZE_TAG = "egov/batch_size"
# Days before the tick that are pulled again: dossiers move status for days after they arrive.
REPULL_DAYS = (2, 3, 4)


def tick_day(context: dg.ScheduleEvaluationContext) -> date:
    return context.scheduled_execution_time.astimezone(TIMEZONE).date()


def batch_requests(context: dg.ScheduleEvaluationContext, batch: str, days: list[date]):
    """One `ingest_job` run per agency valid on each day (and known as a partition), tagged with the batch."""
    if not paths.agencies_file().exists():
        return dg.SkipReason("no agency registry landed yet: run registry_job once (docs/operations.md)")
    registered = set(context.instance.get_dynamic_partitions(AGENCY_PARTITIONS.name))
    partitions = [(code, day) for code, day in agency_days(days) if code in registered]
    if not partitions:
        return dg.SkipReason(f"{batch}: no registered agency is valid on {', '.join(map(str, days))}")
    tags = {BATCH_TAG: batch, BATCH_SIZE_TAG: str(len(partitions))}
    return [
        dg.RunRequest(run_key=f"{batch}:{code}:{day}", partition_key=agency_day_key(code, day), tags=tags)
        for code, day in partitions
    ]


@dg.schedule(cron_schedule="5 0 * * *", job_name="registry_job", execution_timezone=TIMEZONE_NAME)
def registry_daily(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """The agency registry just after midnight, so the day's runs see new and retired agencies."""
    return dg.RunRequest(run_key=f"registry:{tick_day(context)}")


@dg.schedule(cron_schedule="30 0 * * *", job_name="ingest_job", execution_timezone=TIMEZONE_NAME)
def ingest_daily(context: dg.ScheduleEvaluationContext):
    """Yesterday, for every agency valid yesterday: one run per agency-day."""
    day = tick_day(context) - timedelta(days=1)
    return batch_requests(context, f"daily:{day}", [day])


@dg.schedule(cron_schedule="0 3 * * *", job_name="ingest_job", execution_timezone=TIMEZONE_NAME)
def repull_recent(context: dg.ScheduleEvaluationContext):
    """Days −2 … −4 again: status changes that arrived late land in the KPIs within days."""
    today = tick_day(context)
    return batch_requests(context, f"repull:{today}", [today - timedelta(days=n) for n in REPULL_DAYS])


@dg.schedule(cron_schedule="0 6 1 * *", job_name="kpi_job", execution_timezone=TIMEZONE_NAME)
def monthly_close(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """On the 1st, after the month's last day was ingested (00:30) and re-pulled days settled
    (03:00): rebuild and publish; the release is a minor one that closes the month (its CHANGELOG
    says so, releases.json records `closes`), even when the daily runs already published its days."""
    period = (tick_day(context) - timedelta(days=1)).strftime("%Y-%m")
    return dg.RunRequest(run_key=f"monthly-close:{period}", tags={RELEASE_TAG: MONTHLY_CLOSE, PERIOD_TAG: period})


SCHEDULES = [registry_daily, ingest_daily, repull_recent, monthly_close]

"""Sensors: the KPIs once an ingestion batch is done, and alerts.

`kpi_after_ingest` requests one `kpi_job` run per finished ingestion batch, whatever started
it: a backfill (from the UI, the CLI or `make run`) once the backfill has completed, and a run
outside any backfill (a schedule's tick, a run launched alone from the Launchpad) once its last
attempt has finished. Keyed by batch, so a slow night neither publishes half a backfill nor
publishes twice, and an agency-day that failed does not hold the others back (it stays out of
the KPIs and its check failure is alerted).

The alert sensors announce each incident once: failed blocking checks by the check executions
already announced, freshness failures (late or missing agencies, late KPI tables, assets
failing their freshness policy) by the set of incidents open in the cursor.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

import dagster as dg
from dagster._core.execution.backfill import BulkActionsFilter, BulkActionStatus

from pipelines.defs.freshness import agency_freshness_evaluation, report_from_instance
from pipelines.defs.schedules import BATCH_TAG
from pipelines.lib import alerts
from pipelines.settings import TIMEZONE

# Dagster's own run tags: the backfill a run belongs to, its first attempt, whether it will be retried.
BACKFILL_TAG = "dagster/backfill"
ROOT_RUN_TAG = "dagster/root_run_id"
WILL_RETRY_TAG = "dagster/will_retry"
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
BACKFILL_DONE = [BulkActionStatus.COMPLETED, BulkActionStatus.COMPLETED_SUCCESS, BulkActionStatus.COMPLETED_FAILED,
                 BulkActionStatus.FAILED, BulkActionStatus.CANCELED]
# The ingestion assets: a backfill that materializes any of them is an ingestion batch.
INGEST_ASSETS = {dg.AssetKey(name) for name in ("raw_dossiers", "procedure_catalogue", "validated_dossiers")}
# Batches older than this are not looked at again (their KPI run was requested long ago).
LOOKBACK = timedelta(days=3)
# Failed checks are announced when they happened within this window (runs last at most 2 h).
CHECK_ALERT_WINDOW = timedelta(hours=24)


def run_batch(run: dg.DagsterRun) -> str:
    """The batch a run outside any backfill stands for: its schedule tick, or its first attempt."""
    return run.tags.get(BATCH_TAG) or f"run:{run.tags.get(ROOT_RUN_TAG, run.run_id)}"


def finished_run_batches(runs: Sequence[dg.DagsterRun]) -> list[str]:
    """Batches of ingestion runs outside backfills whose last attempt finished and will not be retried.

    `runs` oldest first, so that a retry replaces its earlier attempt."""
    latest: dict[str, dg.DagsterRun] = {}
    for run in runs:
        if BACKFILL_TAG not in run.tags:
            latest[run_batch(run)] = run
    return sorted(batch for batch, run in latest.items()
                  if run.status in FINISHED and run.tags.get(WILL_RETRY_TAG) != "true")


def finished_backfill_batches(backfills) -> list[str]:
    """Completed backfills that ingested something, as batches."""
    return sorted(f"backfill:{b.backfill_id}" for b in backfills
                  if b.asset_selection and INGEST_ASSETS & set(b.asset_selection))


@dg.sensor(job_name="kpi_job", minimum_interval_seconds=15, default_status=dg.DefaultSensorStatus.RUNNING)
def kpi_after_ingest(context: dg.SensorEvaluationContext):
    """One `kpi_job` run per finished ingestion batch (a backfill, or a run outside any)."""
    since = datetime.now(TIMEZONE) - LOOKBACK
    runs = context.instance.get_runs(filters=dg.RunsFilter(job_name="ingest_job", created_after=since))
    backfills = context.instance.get_backfills(filters=BulkActionsFilter(statuses=BACKFILL_DONE, created_after=since))
    batches = finished_run_batches(list(reversed(runs))) + finished_backfill_batches(backfills)
    if not batches:
        return dg.SkipReason("no ingestion batch has finished")
    return [dg.RunRequest(run_key=f"kpi:{batch}", tags={BATCH_TAG: batch}) for batch in batches]


def blocked_agency_days(evaluation) -> list[dict[str, object]]:
    """One alert's metadata per agency-day a check blocked (its failures table), or the check's own."""
    metadata = {key: value.value for key, value in evaluation.metadata.items()}
    table = metadata.get("failures")
    if not hasattr(table, "records"):
        return [metadata]
    rows = [r.data for r in table.records]
    return [{"agency": row["agency"], "day": row["day"], "failures": row.get("failures") or f"- FAILED: {row['detail']}"}
            for row in rows if "BLOCKING" in str(row.get("failures", "")) or row.get("status") == "failed"]


def failed_blocking_checks(instance: dg.DagsterInstance, graph, since: float) -> list:
    """Failed ERROR evaluations of checks created after `since`, oldest first: an agency-day
    blocked by validation or not pulled at all, a failed dbt test of error severity.

    Read from the asset-check executions index, which every instance keeps in one place (the
    embedded SQLite event log is sharded by run, so event ids do not order across runs)."""
    records = []
    for key in graph.asset_check_keys:
        for record in instance.event_log_storage.get_asset_check_execution_history(key, limit=1000):
            if record.create_timestamp < since:
                break
            evaluation = record.event.dagster_event.event_specific_data if record.event else None
            if (record.status.value == "FAILED" and evaluation is not None
                    and evaluation.severity == dg.AssetCheckSeverity.ERROR):
                records.append(record)
    return sorted(records, key=lambda r: r.id)


@dg.sensor(minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def check_failure_alerts(context: dg.SensorEvaluationContext):
    """A webhook call per failed blocking check (agency, day and expectations), once each.

    The cursor holds the executions already announced within the window (id → created at)."""
    since = (datetime.now(TIMEZONE) - CHECK_ALERT_WINDOW).timestamp()
    announced = {int(k): v for k, v in json.loads(context.cursor or "{}").items() if v >= since}
    new = 0
    for record in failed_blocking_checks(context.instance, context.repository_def.asset_graph, since):
        if record.id in announced:
            continue
        evaluation = record.event.dagster_event.event_specific_data
        at = datetime.fromtimestamp(record.event.timestamp, TIMEZONE).isoformat(timespec="seconds")
        delivered = [
            alerts.deliver(alerts.check_failure_alert(evaluation.asset_key.to_user_string(), evaluation.check_name,
                                                      metadata, evaluation.description, record.run_id, at,
                                                      record.partition), context.log.warning)
            for metadata in blocked_agency_days(evaluation)
        ]
        if all(delivered):
            announced[record.id] = record.create_timestamp
            new += 1
    context.update_cursor(json.dumps(announced, sort_keys=True))
    return dg.SkipReason(f"{new} failed blocking check(s) announced")


def asset_freshness_incidents(instance: dg.DagsterInstance, keys: Sequence[dg.AssetKey]) -> dict[str, dict]:
    """Assets whose Dagster freshness policy is failing, as evaluated by the daemon."""
    records = instance.get_freshness_state_records(list(keys))
    failing = [key.to_user_string() for key, record in records.items() if record.freshness_state.value == "FAIL"]
    return {f"asset_freshness:{asset}": alerts.asset_freshness_incident(asset, "FAIL") for asset in failing}


@dg.sensor(minimum_interval_seconds=900, default_status=dg.DefaultSensorStatus.RUNNING)
def freshness_alerts(context: dg.SensorEvaluationContext):
    """A webhook call when an agency becomes late or missing, a KPI table late, or an asset fails
    its freshness policy; again only after it recovered and failed anew."""
    now = datetime.now(TIMEZONE)
    report = report_from_instance(context.instance, now)
    current = alerts.freshness_incidents(report)
    if context.repository_def is not None:
        keys = list(context.repository_def.asset_graph.get_all_asset_keys())
        current.update(asset_freshness_incidents(context.instance, keys))
    opened = json.loads(context.cursor or "{}")
    still_open = alerts.announce_new(
        opened, current, now.isoformat(timespec="seconds"), lambda alert: alerts.deliver(alert, context.log.warning)
    )
    new = set(still_open) - set(opened)
    # The UI's view (the agency_freshness check) is recorded when the incidents change, not every tick.
    changed = set(still_open) != set(opened) or context.cursor is None
    return dg.SensorResult(
        skip_reason=f"{len(still_open)} freshness incident(s) open, {len(new)} new",
        cursor=json.dumps(still_open, sort_keys=True),
        asset_events=[agency_freshness_evaluation(report)] if changed else [],
    )


SENSORS = [kpi_after_ingest, check_failure_alerts, freshness_alerts]

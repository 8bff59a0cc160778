"""Sensors on built contexts: when a batch is done, and the alert on a failed blocking check."""

from __future__ import annotations

from datetime import date, datetime

import dagster as dg
import pytest

from pipelines.defs import sensors
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill

from pipelines.defs.sensors import finished_backfill_batches, finished_run_batches
from tests.helpers import serve

S, F, C = dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED


def run(status: dg.DagsterRunStatus, batch: str | None = None, **tags: str) -> dg.DagsterRun:
    return dg.DagsterRun(job_name="ingest_job", status=status, tags={**({"egov/batch": batch} if batch else {}), **tags})


def test_a_scheduled_run_is_a_batch_done_when_its_last_attempt_finished():
    assert finished_run_batches([run(S, "daily:2025-03-04"), run(F, "repull:2025-03-10"), run(C, "daily:x")]) == [
        "daily:2025-03-04", "daily:x", "repull:2025-03-10"]


@pytest.mark.parametrize("status, tags", [
    (dg.DagsterRunStatus.STARTING, {}), (dg.DagsterRunStatus.STARTED, {}),
    (F, {"dagster/will_retry": "true"}),  # failed, and the daemon will retry it
])
def test_a_run_is_not_done_while_it_may_still_change(status, tags):
    assert finished_run_batches([run(status, "daily:d", **tags)]) == []


def test_a_retry_replaces_the_failed_attempt_and_backfill_runs_wait_for_their_backfill():
    runs = [
        run(F, None, **{"dagster/will_retry": "true"}),
        run(dg.DagsterRunStatus.STARTED, None, **{"dagster/root_run_id": "first", "dagster/retry_number": "1"}),
        run(S, None, **{"dagster/backfill": "abc"}),  # its backfill decides
    ]
    runs[0] = dg.DagsterRun(job_name="ingest_job", status=F, run_id="first", tags={"dagster/will_retry": "true"})
    assert finished_run_batches(runs) == []
    runs[1] = run(S, None, **{"dagster/root_run_id": "first", "dagster/retry_number": "1"})
    assert finished_run_batches(runs) == ["run:first"], "a run launched alone from the UI is its own batch"


def test_only_backfills_that_ingested_are_batches():
    ingest = PartitionBackfill(backfill_id="ing", status=BulkActionStatus.COMPLETED_SUCCESS, from_failure=False,
                               tags={}, backfill_timestamp=0.0, asset_selection=[dg.AssetKey("raw_dossiers")])
    other = PartitionBackfill(backfill_id="kpi", status=BulkActionStatus.COMPLETED_SUCCESS, from_failure=False,
                              tags={}, backfill_timestamp=0.0, asset_selection=[dg.AssetKey("kpi_scores")])
    assert finished_backfill_batches([ingest, other]) == ["backfill:ing"]


def test_every_sensor_is_registered():
    from pipelines.definitions import defs

    assert {s.name for s in defs.get_repository_def().sensor_defs} == {
        "kpi_after_ingest", "check_failure_alerts", "freshness_alerts"}


def test_a_failed_blocking_check_is_announced_once(data_dir, tmp_path, monkeypatch, webhook):
    """An agency whose payload drifts (a renamed field) is blocked by its checks: one alert
    naming the agency, the day and the expectation, and none on the next tick."""
    from simulator import Simulation

    from pipelines.definitions import defs
    from tests.helpers import ingest_days, register

    day = date(2025, 3, 4)
    probe = Simulation(seed=11, scale=0.01, faults="drift", now=datetime(2025, 3, 6, 6, 0), drift_from=day)
    drifted = next(a["MaDonVi"] for a in probe.agencies()
                   if probe.drift(a["MaDonVi"]) and ".H" in a["MaDonVi"] and a["HieuLucDen"] is None)
    sim = Simulation(seed=11, scale=0.01, faults="drift", now=datetime(2025, 3, 6, 6, 0), drift_from=day,
                     agencies=[drifted])
    server = serve(sim, tmp_path, monkeypatch)
    try:
        with dg.instance_for_test() as instance:
            assert register(defs, instance)
            assert ingest_days(defs, instance, [day], [drifted]) == [f"{drifted} {day}"]  # blocked

            def tick(cursor):
                context = dg.build_sensor_context(instance=instance, cursor=cursor, repository_def=defs.get_repository_def())
                return sensors.check_failure_alerts.evaluate_tick(context)

            first = tick(None)
            assert len(webhook.bodies) >= 1
            alert = webhook.bodies[0]
            assert (alert["kind"], alert["agency"], alert["day"]) == ("check_failed", drifted, day.isoformat())
            assert alert["failed_expectations"] and alert["run_id"]
            assert all((b["agency"], b["day"]) == (drifted, day.isoformat()) for b in webhook.bodies)
            announced = len(webhook.bodies)
            tick(first.cursor)
            assert len(webhook.bodies) == announced
    finally:
        server.shutdown()


def test_assets_failing_their_freshness_policy_are_incidents():
    """As the daemon records them: a state change to FAIL opens an incident, back to PASS closes it."""
    from dagster._core.definitions.freshness import FreshnessState, FreshnessStateChange

    key = dg.AssetKey("kpi_processed_records")

    def change(new, previous):
        return FreshnessStateChange(key=key, new_state=new, previous_state=previous, state_change_timestamp=1.0)

    with dg.instance_for_test() as instance:
        assert sensors.asset_freshness_incidents(instance, [key]) == {}
        instance._report_runless_asset_event(change(FreshnessState.FAIL, FreshnessState.PASS))  # noqa: SLF001
        (incident,) = sensors.asset_freshness_incidents(instance, [key]).values()
        assert (incident["kind"], incident["asset"], incident["state"]) == ("asset_freshness_failed", "kpi_processed_records", "FAIL")
        instance._report_runless_asset_event(change(FreshnessState.PASS, FreshnessState.FAIL))  # noqa: SLF001
        assert sensors.asset_freshness_incidents(instance, [key]) == {}

"""Sensors on built contexts: when a batch is done, and the alert on a failed blocking check."""

from __future__ import annotations

from datetime import date, datetime

import dagster as dg
import pytest

from pipelines.defs import sensors
from pipelines.defs.sensors import finished_batches
from tests.helpers import serve

S, F, C = dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED


def run(batch: str | None, size: int, partition: str, status: dg.DagsterRunStatus, **tags: str) -> dg.DagsterRun:
    batch_tags = {"egov/batch": batch, "egov/batch_size": str(size)} if batch else {}
    return dg.DagsterRun(job_name="ingest_job", status=status,
                         tags={**batch_tags, "dagster/partition": partition, **tags})


def test_a_batch_is_done_when_every_agency_day_has_a_final_attempt():
    done = [run("daily:2025-03-04", 3, p, s) for p, s in (("a|2025-03-04", S), ("b|2025-03-04", F), ("c|2025-03-04", C))]
    assert finished_batches(done) == ["daily:2025-03-04"]


@pytest.mark.parametrize("runs", [
    # Still being submitted: two of three runs exist.
    [run("daily:d", 3, "a|d", S), run("daily:d", 3, "b|d", S)],
    # One still queued or running.
    [run("daily:d", 2, "a|d", S), run("daily:d", 2, "b|d", dg.DagsterRunStatus.STARTING)],
    [run("daily:d", 2, "a|d", S), run("daily:d", 2, "b|d", dg.DagsterRunStatus.STARTED)],
    # Failed, and the daemon will retry it.
    [run("daily:d", 2, "a|d", S), run("daily:d", 2, "b|d", F, **{"dagster/will_retry": "true"})],
])
def test_a_batch_is_not_done_while_an_agency_day_may_still_change(runs):
    assert finished_batches(runs) == []


def test_a_retry_replaces_the_failed_attempt_and_unbatched_runs_are_ignored():
    runs = [
        run("repull:2025-03-10", 2, "a|2025-03-06", S),
        run("repull:2025-03-10", 2, "b|2025-03-06", F, **{"dagster/will_retry": "true"}),
        run("repull:2025-03-10", 2, "b|2025-03-06", dg.DagsterRunStatus.STARTED, **{"dagster/retry_number": "1"}),
        run(None, 0, "c|2025-03-06", dg.DagsterRunStatus.STARTED),  # `make run` or a manual run
    ]
    assert finished_batches(runs) == []
    runs[2] = run("repull:2025-03-10", 2, "b|2025-03-06", S, **{"dagster/retry_number": "1"})
    assert finished_batches(runs) == ["repull:2025-03-10"]


def test_every_sensor_is_registered():
    from pipelines.definitions import defs

    assert {s.name for s in defs.get_repository_def().sensor_defs} == {
        "kpi_after_ingest", "check_failure_alerts", "freshness_alerts"}


def test_a_failed_blocking_check_is_announced_once(data_dir, tmp_path, monkeypatch, webhook):
    """An agency whose payload drifts (a renamed field) is blocked by its checks: one alert
    naming the agency, the day and the expectation, and none on the next tick."""
    from simulator import Simulation

    from pipelines.definitions import defs
    from pipelines.runner import ingest_partition, register_agencies

    day = date(2025, 3, 4)
    probe = Simulation(seed=11, scale=0.01, faults="drift", now=datetime(2025, 3, 6, 6, 0), drift_from=day)
    drifted = next(a["MaDonVi"] for a in probe.agencies()
                   if probe.drift(a["MaDonVi"]) and ".H" in a["MaDonVi"] and a["HieuLucDen"] is None)
    sim = Simulation(seed=11, scale=0.01, faults="drift", now=datetime(2025, 3, 6, 6, 0), drift_from=day,
                     agencies=[drifted])
    server = serve(sim, tmp_path, monkeypatch)
    try:
        with dg.instance_for_test() as instance:
            assert register_agencies(defs, instance)
            assert not ingest_partition(defs, instance, drifted, day)  # blocked

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

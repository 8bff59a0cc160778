"""A 90-day backfill at small scale through the instance, as the UI launches one (an asset
backfill run by the daemon under the instance's pools), then what operations see on that
instance when a second agency, pulled for its last few days only, is switched off by the
simulator three days ago: the freshness report, the alert, the daily schedule and the KPI sensor.

One agency carries the 90 days; the instance is the embedded one (config/dagster.yaml) in a
temporary DAGSTER_HOME, with the tightest pool limits, and a real `dagster-daemon` runs it."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from pipelines.defs import schedules, sensors
from pipelines.defs.concurrency import apply_pool_limits
from pipelines.defs.freshness import report_from_instance
from pipelines.defs.partitions import DAYS_PER_RUN
from pipelines.lib import freshness
from pipelines.lib.agency_days import date_range
from pipelines.orchestration import BatchReport, running_daemon, submit_backfill, wait_for_backfill
from pipelines.settings import REPO_ROOT, TIMEZONE
from tests.helpers import serve

SEED = 20250901
ON, OFF = "000.00.00.G17", "000.00.00.H80"  # Ministry of Construction, Ho Chi Minh City
DAYS = 90
OFF_DAYS = 6  # the switched-off agency is pulled for the last days only


@dataclass
class Backfilled:
    instance: dg.DagsterInstance
    data: Path
    days: list[date]
    off_day: date
    report: BatchReport
    progress: list


def switch_off_day(today: date) -> date:
    """The latest working day at least three days back: its data was due long enough ago."""
    holidays = freshness.public_holidays()
    day = today - timedelta(days=3)
    while not freshness.is_working_day(day, holidays):
        day -= timedelta(days=1)
    return day


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory):
    from simulator import Simulation

    from pipelines.definitions import defs

    tmp = tmp_path_factory.mktemp("backfill")
    today = datetime.now(TIMEZONE).date()
    days = date_range(today - timedelta(days=DAYS), today - timedelta(days=1))
    off_day = switch_off_day(today)
    sim = Simulation(seed=SEED, scale=0.01, faults="none", agencies=[ON, OFF], off={OFF: off_day})
    with pytest.MonkeyPatch.context() as monkeypatch:
        home = tmp / "dagster"
        home.mkdir()
        shutil.copyfile(REPO_ROOT / "config" / "dagster.yaml", home / "dagster.yaml")
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        monkeypatch.setenv("EGOV_DATA_DIR", str(tmp / "data"))
        server = serve(sim, tmp, monkeypatch)
        try:
            with dg.DagsterInstance.get() as instance, running_daemon(instance, home / "daemon.log") as started:
                assert started, "no other daemon on a fresh instance: the test's own runs this backfill"
                apply_pool_limits(instance, {"duckdb_writer": 1, "agency_api": 2})
                backfill_id = submit_backfill(instance, defs, days, agencies=[ON], title="the test's backfill")
                progress: list = []
                # Timeouts are a safety net for a hung daemon, not a measure: this machine may be busy.
                report = wait_for_backfill(instance, backfill_id, days, agencies=[ON], on_days_done=progress.append,
                                           timeout=3600)
                # The second agency's last days, as a second backfill (a second release).
                off = submit_backfill(instance, defs, days[-OFF_DAYS:], agencies=[OFF], with_registry=False)
                assert wait_for_backfill(instance, off, days[-OFF_DAYS:], agencies=[OFF], timeout=3600).failed == []
                yield Backfilled(instance, tmp / "data", days, off_day, report, progress)
        finally:
            server.shutdown()


def test_the_backfill_runs_through_the_daemon_in_few_runs_then_builds_the_kpis_once(backfilled):
    report, days, instance = backfilled.report, backfilled.days, backfilled.instance
    assert report.failed == [] and report.kpi_ok and report.status == "COMPLETED_SUCCESS"
    assert report.agency_days == DAYS
    validated = sorted((backfilled.data / "validated" / "partitions").glob(f"date=*/agency={ON}/partition.parquet"))
    assert [p.parent.parent.name for p in validated] == [f"date={d}" for d in days]
    # The registry, then a run per DAYS_PER_RUN days (O(days), not O(days × agencies)).
    runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": report.backfill_id}))
    assert report.runs == len(runs) == 1 + -(-DAYS // DAYS_PER_RUN)
    assert all(r.status == dg.DagsterRunStatus.SUCCESS and r.tags["egov/agencies"] == ON for r in runs)
    assert sorted(d for batch in backfilled.progress for d in batch) == days, "every day reported once, as done"
    (kpi,) = instance.get_runs(filters=dg.RunsFilter(tags={"egov/batch": f"backfill:{report.backfill_id}"}))
    assert kpi.job_name == "kpi_job" and kpi.status == dg.DagsterRunStatus.SUCCESS
    # Two backfills (the first agency's 90 days, the second's last days): two KPI runs, two releases.
    assert len(instance.get_runs(filters=dg.RunsFilter(job_name="kpi_job"))) == 2
    releases = json.loads((backfilled.data / "open" / "releases.json").read_text(encoding="utf-8"))
    assert len(releases["releases"]) == 2


def test_the_instance_pools_held_the_daemons_runs(backfilled):
    """agency_api at 2: never more than two of the backfill's runs at once (it queued 14)."""
    instance = backfilled.instance
    pools = {info.concurrency_key: info.slot_count for info in
             map(instance.event_log_storage.get_concurrency_info, ("agency_api", "duckdb_writer"))}
    assert pools == {"agency_api": 2, "duckdb_writer": 1}
    runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfilled.report.backfill_id}))
    spans = [(instance.get_run_stats(r.run_id).start_time, instance.get_run_stats(r.run_id).end_time) for r in runs]
    at_once = max(sum(start <= t < end for start, end in spans) for t, _ in spans)
    assert at_once <= 2, spans


def test_the_release_carries_its_freshness_report(backfilled):
    """freshness.json in the release the first backfill published, covered by its checksums."""
    latest = backfilled.data / "open" / "releases" / "1.0.0"
    report = json.loads((latest / "freshness.json").read_text(encoding="utf-8"))
    # Written before the second agency was pulled at all: registered, nothing received, so missing.
    assert [(a["agency_code"], a["status"]) for a in report["agencies"]] == [(ON, "on_time"), (OFF, "missing")]
    assert {t["table"] for t in report["kpi_tables"]} == {p.stem for p in latest.glob("kpi_*.parquet")}
    assert {(t["status"], t["data_as_of"]) for t in report["kpi_tables"]} == {("fresh", backfilled.days[-1].isoformat())}
    assert "  freshness.json" in (latest / "SHA256SUMS").read_text(encoding="utf-8")


def test_the_backfill_refuses_an_unknown_agency(backfilled, capsys):
    from pipelines.__main__ import main

    day = backfilled.days[-1].isoformat()
    with pytest.raises(SystemExit, match="000.00.00.H99"):
        main(["backfill", "--start", day, "--end", day, "--agency", "000.00.00.H99"])
    with pytest.raises(ValueError, match="before it starts"):
        date_range(backfilled.days[-1], backfilled.days[0])


def test_one_agency_day_rerun_from_the_cli_goes_through_the_instance(backfilled, capsys):
    """`backfill --start D --end D --agency A`: one run for that agency-day, then the KPIs; the
    same data again, so the figures did not change and no new release is made."""
    from pipelines.__main__ import main

    day, instance = backfilled.days[-1], backfilled.instance
    before = json.loads((backfilled.data / "open" / "releases.json").read_text(encoding="utf-8"))
    # (no look-back: a retry of one agency-day, as the runbook says)
    assert main(["backfill", "--start", day.isoformat(), "--end", day.isoformat(), "--agency", ON,
                 "--lookback-days", "0"]) == 0
    out = capsys.readouterr().out
    assert "1 of 1 agency-days validated in 2 runs; KPIs rebuilt and published" in out  # the registry, the day
    backfill = instance.get_backfills()[0]
    runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill.backfill_id}))
    (run,) = [r for r in runs if "dagster/asset_partition_range_start" in r.tags]
    assert run.tags["egov/agencies"] == ON and run.tags["dagster/asset_partition_range_start"] == day.isoformat()
    assert json.loads((backfilled.data / "open" / "releases.json").read_text(encoding="utf-8")) == before


def test_the_switched_off_agency_sends_nothing_from_its_off_day(backfilled):
    manifests = pq.read_table(backfilled.data / "validated" / "partitions").to_pylist()
    totals = {(m["agency_code"], m["day"]): m["source_total"] for m in manifests}
    off_days = backfilled.days[-OFF_DAYS:]
    assert all(totals[OFF, d] == 0 for d in off_days if d >= backfilled.off_day)
    assert sum(totals[OFF, d] for d in off_days if d < backfilled.off_day) > 0
    assert sum(totals[ON, d] for d in off_days if d >= backfilled.off_day) > 0


def test_the_freshness_report_marks_the_switched_off_agency_late_after_its_threshold(backfilled):
    report = report_from_instance(backfilled.instance)
    assert report["summary"]["late"] == [OFF] and report["summary"]["missing"] == []
    late = next(r for r in report["agencies"] if r["agency_code"] == OFF)
    last = date.fromisoformat(late["last_day_received"])
    assert backfilled.off_day - timedelta(days=4) <= last < backfilled.off_day
    assert late["no_data_since"] == (last + timedelta(days=1)).isoformat()
    assert late["last_day_validated"] == backfilled.days[-1].isoformat()
    # Pulled for its last days only: the earlier days of the window are gaps, named.
    assert len(late["missing_days"]) == DAYS - OFF_DAYS and not late["complete"]
    on = next(r for r in report["agencies"] if r["agency_code"] == ON)
    assert on["status"] == "on_time" and on["complete"] and on["last_day_validated"] == backfilled.days[-1].isoformat()
    # Just before its threshold the same agency is not late yet.
    since = datetime.fromisoformat(late["late_since"])
    assert since == freshness.end_of_day(freshness.first_working_day(last + timedelta(days=1), freshness.public_holidays())) + timedelta(hours=36)
    earlier = report_from_instance(backfilled.instance, since - timedelta(minutes=1))
    assert earlier["summary"]["late"] == []
    # The KPI tables were just built: fresh, and as of the last day backfilled.
    assert report["kpi_tables"] and all(t["status"] == "fresh" for t in report["kpi_tables"])
    # (monthly rows end with their month: an open month is as of the last validated day)
    assert {t["data_as_of"] for t in report["kpi_tables"]} == {backfilled.days[-1].isoformat()}


def test_the_cli_prints_the_report_and_exits_1_when_an_agency_is_late(backfilled, capsys):
    from pipelines.__main__ import main

    assert main(["freshness", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["summary"]["late"] == [OFF]
    assert main(["freshness"]) == 1
    table = capsys.readouterr().out
    assert f"{OFF}    late" in table and "kpi_processed_records" in table


def test_the_freshness_alert_fires_once(backfilled, webhook):
    from pipelines.definitions import defs
    from pipelines.defs.freshness import agency_freshness

    def tick(cursor):
        context = dg.build_sensor_context(instance=backfilled.instance, cursor=cursor, repository_def=defs.get_repository_def())
        return sensors.freshness_alerts.evaluate_tick(context)

    first = tick(None)
    assert [(b["kind"], b["agency"]) for b in webhook.bodies] == [("agency_late", OFF)]
    assert webhook.bodies[0]["no_data_since"] and webhook.bodies[0]["late_since"]
    second = tick(first.cursor)
    assert len(webhook.bodies) == 1 and json.loads(second.cursor) == json.loads(first.cursor)
    # The UI's view: the agency_freshness check, recorded when the incidents changed, not on every tick.
    (evaluation,) = first.asset_events
    assert (evaluation.check_name, evaluation.passed, evaluation.severity) == ("agency_freshness", False, dg.AssetCheckSeverity.WARN)
    assert evaluation.metadata["late"].value == 1 and OFF in evaluation.metadata["agencies_behind"].value
    assert f"late: {OFF}" in evaluation.description
    assert second.asset_events == []
    executed = agency_freshness(dg.build_asset_check_context(instance=backfilled.instance))  # "Execute" in the UI
    assert not executed.passed and executed.description == evaluation.description


def test_the_daily_schedule_then_the_kpi_sensor(backfilled):
    """Yesterday's run as the schedule requests it; the KPIs once it is done."""
    from pipelines.definitions import defs

    instance, yesterday = backfilled.instance, backfilled.days[-1]
    tick = datetime.combine(yesterday + timedelta(days=1), datetime.min.time(), TIMEZONE).replace(minute=30)
    repository = defs.get_repository_def()
    (request,) = schedules.ingest_daily.evaluate_tick(
        dg.build_schedule_context(instance=instance, scheduled_execution_time=tick, repository_def=repository)
    ).run_requests

    def kpi_requests():
        context = dg.build_sensor_context(instance=instance, repository_def=repository)
        return [r for r in sensors.kpi_after_ingest.evaluate_tick(context).run_requests or []
                if r.run_key == f"kpi:daily:{yesterday}"]

    assert kpi_requests() == []
    result = defs.resolve_job_def("ingest_job").execute_in_process(instance=instance, tags=request.tags)
    assert result.success
    (kpi,) = kpi_requests()
    assert kpi.tags["egov/batch"] == f"daily:{yesterday}"

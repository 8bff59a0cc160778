"""A 90-day backfill at small scale, then what operations see on that instance when a second
agency, pulled for its last few days only, is switched off by the simulator three days ago:
the freshness report, the alert, the daily schedule and the KPI sensor.

One agency carries the 90 days (each agency-day is a Dagster run with its checks: about two
seconds each); the instance is the embedded one (config/dagster.yaml) with the tightest pool
limits, in a temporary DAGSTER_HOME that the backfill's worker processes share."""

from __future__ import annotations

import io
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
from pipelines.lib import freshness
from pipelines.lib.backfill import BACKFILL_TAG, backfill, date_range
from pipelines.runner import ingest
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
    report: object
    progress: str


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
            with dg.DagsterInstance.get() as instance:
                # The tightest limits: in-process runs must not wait on them (granularity: run).
                apply_pool_limits(instance, {"duckdb_writer": 1, "agency_api": 1})
                progress = io.StringIO()
                report = backfill(defs, instance, days[0], days[-1], agencies=[ON], workers=2, out=progress)
                off_failed = ingest(defs, instance, [(OFF, d) for d in days[-OFF_DAYS:]], workers=2)
                assert off_failed == []
                yield Backfilled(instance, tmp / "data", days, off_day, report, progress.getvalue())
        finally:
            server.shutdown()


def test_the_backfill_ingests_every_agency_day_then_builds_the_kpis_once(backfilled):
    report, days = backfilled.report, backfilled.days
    assert report.failed == [] and report.kpi_ok
    assert report.partitions == DAYS
    validated = sorted((backfilled.data / "validated" / "partitions").glob(f"date=*/agency={ON}/partition.parquet"))
    assert [p.parent.parent.name for p in validated] == [f"date={d}" for d in days]
    assert f"{DAYS}/{DAYS}" in backfilled.progress  # the progress bar reached the end
    kpi_runs = backfilled.instance.get_runs(filters=dg.RunsFilter(job_name="kpi_job"))
    assert [r.tags.get(BACKFILL_TAG) for r in kpi_runs] == [f"{days[0]}/{days[-1]}"]
    ingest_runs = backfilled.instance.get_runs(filters=dg.RunsFilter(job_name="ingest_job"))
    assert len(ingest_runs) == DAYS + OFF_DAYS and all(r.status == dg.DagsterRunStatus.SUCCESS for r in ingest_runs)


def test_the_release_carries_its_freshness_report(backfilled):
    """freshness.json in the release the backfill published, covered by its checksums."""
    latest = backfilled.data / "open" / "latest"
    report = json.loads((latest / "freshness.json").read_text(encoding="utf-8"))
    # Written before the second agency was pulled at all: registered, nothing received, so missing.
    assert [(a["agency_code"], a["status"]) for a in report["agencies"]] == [(ON, "on_time"), (OFF, "missing")]
    assert {t["table"] for t in report["kpi_tables"]} == {p.stem for p in latest.glob("kpi_*.parquet")}
    assert {(t["status"], t["data_as_of"]) for t in report["kpi_tables"]} == {("fresh", backfilled.days[-1].isoformat())}
    assert "  freshness.json" in (latest / "SHA256SUMS").read_text(encoding="utf-8")


def test_the_backfill_refuses_an_unknown_agency(backfilled):
    from pipelines.definitions import defs

    with pytest.raises(ValueError, match="000.00.00.H99"):
        backfill(defs, backfilled.instance, backfilled.days[-1], backfilled.days[-1], agencies=["000.00.00.H99"],
                 show_progress=False)
    with pytest.raises(ValueError, match="before it starts"):
        date_range(backfilled.days[-1], backfilled.days[0])


def test_the_switched_off_agency_sends_nothing_from_its_off_day(backfilled):
    manifests = pq.read_table(backfilled.data / "validated" / "partitions").to_pylist()
    totals = {(m["agency_code"], m["day"]): m["source_total"] for m in manifests}
    off_days = backfilled.days[-OFF_DAYS:]
    assert all(totals[OFF, d] == 0 for d in off_days if d >= backfilled.off_day)
    assert sum(totals[OFF, d] for d in off_days if d < backfilled.off_day) > 0
    assert sum(totals[ON, d] for d in off_days if d >= backfilled.off_day) > 0


def test_in_process_runs_never_waited_for_a_pool(backfilled):
    instance = backfilled.instance
    pools = {info.concurrency_key: info.slot_count for info in
             map(instance.event_log_storage.get_concurrency_info, ("agency_api", "duckdb_writer"))}
    assert pools == {"agency_api": 1, "duckdb_writer": 1}
    for run in instance.get_runs():
        messages = [e.message for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)]
        assert not [m for m in messages if "blocked by limit for pool" in m], run.job_name


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
    """Yesterday's runs as the schedule requests them; the KPIs once the whole batch is done."""
    from pipelines.definitions import defs

    instance, yesterday = backfilled.instance, backfilled.days[-1]
    tick = datetime.combine(yesterday + timedelta(days=1), datetime.min.time(), TIMEZONE).replace(minute=30)
    repository = defs.get_repository_def()
    requests = schedules.ingest_daily.evaluate_tick(
        dg.build_schedule_context(instance=instance, scheduled_execution_time=tick, repository_def=repository)
    ).run_requests
    assert len(requests) == 2 and {r.tags["egov/batch"] for r in requests} == {f"daily:{yesterday}"}

    def kpi_requests():
        context = dg.build_sensor_context(instance=instance, repository_def=repository)
        return sensors.kpi_after_ingest.evaluate_tick(context).run_requests

    job = defs.resolve_job_def("ingest_job")
    job.execute_in_process(instance=instance, partition_key=requests[0].partition_key, tags=requests[0].tags)
    assert kpi_requests() == []  # half the batch
    job.execute_in_process(instance=instance, partition_key=requests[1].partition_key, tags=requests[1].tags)
    (kpi,) = kpi_requests()
    assert kpi.run_key == f"kpi:daily:{yesterday}" and kpi.tags["egov/batch"] == f"daily:{yesterday}"

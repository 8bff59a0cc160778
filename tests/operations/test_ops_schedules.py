"""Schedules evaluated on built contexts: their ticks in Asia/Ho_Chi_Minh and what they request."""

from __future__ import annotations

from datetime import date, datetime, timezone
from itertools import islice

import dagster as dg
import pytest
from dagster._utils.schedules import cron_string_iterator

from pipelines.defs import schedules
from pipelines.definitions import defs
from pipelines.lib.agency_days import agency_days
from pipelines.settings import TIMEZONE
from tests.operations.conftest import agency, write_registry

REPOSITORY = defs.get_repository_def()
REGISTRY = [
    agency("000.00.00.G12"),
    agency("000.00.00.H01"),
    agency("000.00.00.H02", valid_to=date(2025, 4, 30)),   # merged away at the end of April
    agency("000.00.00.H09", valid_to=date(2024, 6, 30)),   # ceased long ago, its reporting tail is over
    agency("000.00.00.H40", valid_from=date(2025, 7, 1)),  # a province created by the merger
]


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    """A persistent instance (schedule contexts need one), with the registry landed."""
    with pytest.MonkeyPatch.context() as monkeypatch, dg.instance_for_test() as instance:
        monkeypatch.setenv("EGOV_DATA_DIR", str(tmp_path_factory.mktemp("data")))
        write_registry(REGISTRY)
        yield instance


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TIMEZONE)


def evaluate(schedule: dg.ScheduleDefinition, instance, when: datetime) -> dg.ScheduleExecutionData:
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=when, repository_def=REPOSITORY)
    return schedule.evaluate_tick(context)


def next_ticks(schedule: dg.ScheduleDefinition, after: datetime, count: int = 3) -> list[str]:
    ticks = cron_string_iterator(after.timestamp(), schedule.cron_schedule, schedule.execution_timezone)
    return [t.isoformat() for t in islice(ticks, count)]


def test_every_schedule_is_registered_and_runs_in_vietnam_time():
    assert {s.name: s.job_name for s in REPOSITORY.schedule_defs} == {
        "registry_daily": "registry_job", "ingest_daily": "ingest_job",
        "repull_recent": "ingest_job", "monthly_close": "kpi_job",
    }
    assert all(s.execution_timezone == "Asia/Ho_Chi_Minh" for s in REPOSITORY.schedule_defs)


def test_next_ticks():
    after = local("2025-03-30T12:00")
    assert next_ticks(schedules.registry_daily, after, 1) == ["2025-03-31T00:05:00+07:00"]
    assert next_ticks(schedules.ingest_daily, after) == [
        "2025-03-31T00:30:00+07:00", "2025-04-01T00:30:00+07:00", "2025-04-02T00:30:00+07:00"]
    assert next_ticks(schedules.repull_recent, after, 2) == ["2025-03-31T03:00:00+07:00", "2025-04-01T03:00:00+07:00"]
    assert next_ticks(schedules.monthly_close, after, 2) == ["2025-04-01T06:00:00+07:00", "2025-05-01T06:00:00+07:00"]


def test_the_daily_run_requests_yesterday_in_one_run(instance):
    # 00:30 in Hanoi is 17:30 UTC the evening before: the day is Vietnam's, not UTC's.
    tick = datetime(2025, 3, 31, 17, 30, tzinfo=timezone.utc)
    (request,) = evaluate(schedules.ingest_daily, instance, tick).run_requests
    assert request.tags[schedules.RANGE_START_TAG] == request.tags[schedules.RANGE_END_TAG] == "2025-03-31"
    assert request.tags["egov/batch"] == request.run_key == "daily:2025-03-31"
    # The range is one of ingest_job's partitions.
    assert "2025-03-31" in defs.resolve_job_def("ingest_job").partitions_def.get_partition_keys()


def test_a_run_pulls_the_agencies_reporting_on_each_of_its_days(instance):
    """Which agencies a day pulls is the registry's answer at run time (pipelines/lib/agency_days)."""
    assert agency_days([date(2025, 3, 31)]) == [
        (code, date(2025, 3, 31)) for code in ("000.00.00.G12", "000.00.00.H01", "000.00.00.H02")]
    # H40 exists from 1 July; H02 ceased on 30 April but is still pulled in its reporting tail.
    assert {code for code, _ in agency_days([date(2025, 7, 1)])} == {
        "000.00.00.G12", "000.00.00.H01", "000.00.00.H02", "000.00.00.H40"}
    assert agency_days([date(2025, 7, 1)], ["000.00.00.H40"]) == [("000.00.00.H40", date(2025, 7, 1))]


def test_the_repull_requests_days_minus_four_to_minus_two_in_one_run(instance):
    (request,) = evaluate(schedules.repull_recent, instance, local("2025-03-10T03:00")).run_requests
    assert (request.tags[schedules.RANGE_START_TAG], request.tags[schedules.RANGE_END_TAG]) == ("2025-03-06", "2025-03-08")
    assert request.tags["egov/batch"] == "repull:2025-03-10"


def test_without_a_registry_the_daily_run_skips_and_says_why(data_dir):
    with dg.instance_for_test() as instance:
        result = evaluate(schedules.ingest_daily, instance, local("2025-03-10T00:30"))
    assert not result.run_requests and "registry_job" in result.skip_message


def test_the_monthly_close_publishes_the_month_just_ended(instance):
    (request,) = evaluate(schedules.monthly_close, instance, local("2025-04-01T06:00")).run_requests
    assert request.tags["egov/release"] == "monthly-close" and request.tags["egov/period"] == "2025-03"
    assert request.run_key == "monthly-close:2025-03"
    (january,) = evaluate(schedules.monthly_close, instance, local("2026-01-01T06:00")).run_requests
    assert january.tags["egov/period"] == "2025-12"


def test_the_registry_runs_before_the_day_is_pulled(instance):
    (request,) = evaluate(schedules.registry_daily, instance, local("2025-03-10T00:05")).run_requests
    assert request.run_key == "registry:2025-03-10"

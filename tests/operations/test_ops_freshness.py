"""The freshness report: who is late, since when, and how current each KPI table is."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.lib import freshness
from pipelines.lib.freshness import AgencyDay, KpiTable, Thresholds, build_report, freshness_report
from pipelines.settings import TIMEZONE
from tests.operations.conftest import agency, write_agency_day, write_registry

HOLIDAYS = freshness.public_holidays()
THRESHOLDS = Thresholds()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TIMEZONE)


def days_of(code: str, first: date, last: date, total: int = 5, validated: bool = True) -> list[AgencyDay]:
    return [AgencyDay(code, first + timedelta(days=n), total, validated) for n in range((last - first).days + 1)]


def row(report: dict, code: str) -> dict:
    return next(r for r in report["agencies"] if r["agency_code"] == code)


def test_an_agency_that_stops_sending_is_late_once_its_threshold_has_passed():
    # Sends through Tuesday 2025-03-04, nothing from Wednesday: Wednesday is due by the end of
    # Wednesday + 36 h = Friday 12:00.
    on, off = agency("000.00.00.H01"), agency("000.00.00.H02")
    days = days_of(on.get("agency_code"), date(2025, 3, 1), date(2025, 3, 6)) + days_of(
        off["agency_code"], date(2025, 3, 1), date(2025, 3, 4)) + days_of(off["agency_code"], date(2025, 3, 5), date(2025, 3, 6), total=0)
    before = build_report([on, off], days, [], at("2025-03-07T11:59"), THRESHOLDS, HOLIDAYS)
    after = build_report([on, off], days, [], at("2025-03-07T12:00"), THRESHOLDS, HOLIDAYS)
    assert row(before, "000.00.00.H02")["status"] == "on_time"
    late = row(after, "000.00.00.H02")
    assert late["status"] == "late" and after["summary"]["late"] == ["000.00.00.H02"]
    assert late["last_day_received"] == "2025-03-04" and late["no_data_since"] == "2025-03-05"
    assert late["late_since"] == "2025-03-07T12:00:00+07:00" and late["lag_days"] == 2
    # Its empty days were pulled and validated: the agency is late, the pipeline is complete.
    assert late["complete"] and late["last_day_validated"] == "2025-03-06"
    assert row(after, "000.00.00.H01")["status"] == "on_time" and row(after, "000.00.00.H01")["no_data_since"] is None


def test_the_threshold_is_a_setting(monkeypatch):
    monkeypatch.setenv("EGOV_AGENCY_LATE_AFTER_HOURS", "12")
    monkeypatch.setenv("EGOV_KPI_LATE_AFTER_HOURS", "48")
    thresholds = Thresholds.from_env()
    assert thresholds == Thresholds(timedelta(hours=12), timedelta(hours=48))
    days = days_of("000.00.00.H02", date(2025, 3, 1), date(2025, 3, 4))
    report = build_report([agency("000.00.00.H02")], days, [], at("2025-03-06T12:00"), thresholds, HOLIDAYS)
    assert row(report, "000.00.00.H02")["late_since"] == "2025-03-06T12:00:00+07:00"
    assert report["thresholds_hours"] == {"agency_late_after": 12.0, "kpi_late_after": 48.0}


@pytest.mark.parametrize("last_day, now, status", [
    # Friday's data, nothing over the weekend: Monday is the day due, late on Wednesday 12:00.
    ("2025-03-07", "2025-03-12T11:00", "on_time"),
    ("2025-03-07", "2025-03-12T12:00", "late"),
    # Tết 2025: offices closed 25 Jan – 2 Feb; the last data on Friday 24 January is not late
    # until the Monday after it is over has ended and 36 hours passed.
    ("2025-01-24", "2025-02-04T11:00", "on_time"),
    ("2025-01-24", "2025-02-05T12:00", "late"),
])
def test_weekends_and_public_holidays_are_not_held_against_an_agency(last_day, now, status):
    days = days_of("000.00.00.H03", date(2025, 1, 2), date.fromisoformat(last_day))
    report = build_report([agency("000.00.00.H03")], days, [], at(now), THRESHOLDS, HOLIDAYS)
    assert row(report, "000.00.00.H03")["status"] == status


def test_missing_retired_and_incomplete_agencies():
    window = days_of("000.00.00.H01", date(2025, 3, 1), date(2025, 3, 9))
    gaps = [d for d in days_of("000.00.00.H04", date(2025, 3, 1), date(2025, 3, 9)) if d.day != date(2025, 3, 3)]
    gaps = [AgencyDay(d.agency_code, d.day, d.source_total, d.day != date(2025, 3, 5)) for d in gaps]
    retired = days_of("000.00.00.H05", date(2025, 3, 1), date(2025, 3, 4))
    agencies = [
        agency("000.00.00.H01"), agency("000.00.00.H04"),
        agency("000.00.00.H05", valid_to=date(2025, 3, 4)),   # merged away, delivered to its last day
        agency("000.00.00.H06"),                               # registered, never sent anything
        agency("000.00.00.H07", valid_to=date(2024, 12, 31)),  # gone before the window: not listed
        agency("000.00.00.H08", valid_from=date(2025, 3, 20)), # not yet valid: not listed
    ]
    report = build_report(agencies, window + gaps + retired, [], at("2025-03-10T09:00"), THRESHOLDS, HOLIDAYS)
    assert [r["agency_code"] for r in report["agencies"]] == ["000.00.00.H01", "000.00.00.H04", "000.00.00.H05", "000.00.00.H06"]
    assert row(report, "000.00.00.H05")["status"] == "on_time" and row(report, "000.00.00.H05")["complete"]
    missing = row(report, "000.00.00.H06")
    assert missing["status"] == "missing" and missing["no_data_since"] == "2025-03-01"
    assert missing["late_since"] == "2025-03-05T12:00:00+07:00"  # Monday 3 March was due
    assert report["summary"]["missing"] == ["000.00.00.H06"]
    incomplete = row(report, "000.00.00.H04")
    assert not incomplete["complete"] and incomplete["missing_days"] == ["2025-03-03"]
    assert incomplete["blocked_days"] == ["2025-03-05"]
    assert report["summary"]["incomplete"] == ["000.00.00.H04", "000.00.00.H06"]
    # H06 never delivered, so no day has every agency in.
    assert report["complete_through"] is None


def test_complete_through_is_the_last_day_every_valid_agency_is_in():
    days = days_of("000.00.00.H01", date(2025, 3, 1), date(2025, 3, 9)) + days_of("000.00.00.H02", date(2025, 3, 1), date(2025, 3, 7))
    report = build_report([agency("000.00.00.H01"), agency("000.00.00.H02")], days, [], at("2025-03-10T09:00"), THRESHOLDS, HOLIDAYS)
    assert report["window"] == {"first_day": "2025-03-01", "last_complete_day": "2025-03-09"}
    assert report["complete_through"] == "2025-03-07"


def test_kpi_tables_are_late_36_hours_after_their_last_update():
    now = at("2025-03-10T12:00")
    tables = [
        KpiTable("kpi_processed_records", date(2025, 3, 9), now - timedelta(hours=35)),
        KpiTable("kpi_service_coverage", date(2025, 3, 8), now - timedelta(hours=36)),
    ]
    report = build_report([], [], tables, now, THRESHOLDS, HOLIDAYS)
    fresh, late = report["kpi_tables"]
    assert fresh == {"table": "kpi_processed_records", "status": "fresh", "last_updated": "2025-03-09T01:00:00+07:00",
                     "data_as_of": "2025-03-09", "late_since": None}
    assert late["status"] == "late" and late["late_since"] == "2025-03-10T12:00:00+07:00"
    assert report["summary"]["kpi_tables_late"] == ["kpi_service_coverage"]


def test_the_report_reads_the_data_directory(data_dir):
    """From the files ingestion and the release write: manifests, registry, published tables."""
    write_registry([agency("000.00.00.G12", name="Ministry of Finance"), agency("000.00.00.H01", name="Hà Nội")])
    for n in range(5):
        day = date(2025, 3, 3) + timedelta(days=n)
        write_agency_day("000.00.00.G12", day, 40)
        write_agency_day("000.00.00.H01", day, 3 if n < 2 else 0, validated=n != 1)
    latest = data_dir / "open" / "latest"
    latest.mkdir(parents=True)
    table = pa.table({"agency_code": ["000.00.00.G12"] * 2, "day": [date(2025, 3, 6), date(2025, 3, 7)]})
    pq.write_table(table, latest / "kpi_processed_records.parquet")
    # A monthly table: March is still open, so it is as of the last validated day, not 31 March.
    monthly = pa.table({"period": ["month"], "period_start": [date(2025, 3, 1)], "period_end": [date(2025, 3, 31)]})
    pq.write_table(monthly, latest / "kpi_scores.parquet")
    built = at("2025-03-08T01:10")
    report = freshness_report(at("2025-03-10T09:00"), kpi_updated_at=lambda name: built)
    assert report["summary"]["late"] == ["000.00.00.H01"]
    hanoi = row(report, "000.00.00.H01")
    assert (hanoi["last_day_received"], hanoi["last_day_validated"], hanoi["blocked_days"]) == ("2025-03-04", "2025-03-07", ["2025-03-04"])
    assert row(report, "000.00.00.G12")["name_en"] == "Ministry of Finance"
    assert report["kpi_tables"] == [
        {"table": "kpi_processed_records", "status": "late", "data_as_of": "2025-03-07",
         "last_updated": "2025-03-08T01:10:00+07:00", "late_since": "2025-03-09T13:10:00+07:00"},
        {"table": "kpi_scores", "status": "late", "data_as_of": "2025-03-07",
         "last_updated": "2025-03-08T01:10:00+07:00", "late_since": "2025-03-09T13:10:00+07:00"},
    ]
    # The JSON the release ships, and the table the CLI prints.
    assert json.loads(json.dumps(report)) == report
    text = freshness.format_report(report)
    assert "000.00.00.H01    late     2025-03-04" in text and "kpi_processed_records" in text


def test_an_empty_data_directory_gives_an_empty_report(data_dir):
    report = freshness_report(at("2025-03-10T09:00"))
    assert report["agencies"] == [] and report["kpi_tables"] == [] and report["complete_through"] is None
    assert "no KPI tables published yet" in freshness.format_report(report)


def test_every_asset_carries_the_freshness_policy_and_it_follows_the_threshold(monkeypatch):
    from pipelines.definitions import defs
    from pipelines.defs.freshness import project_freshness_policy

    graph = defs.resolve_asset_graph()
    policies = {key.to_user_string(): graph.get(key).freshness_policy for key in graph.get_all_asset_keys()}
    assert len(policies) > 20 and {"raw_dossiers", "kpi_processed_records", "open_data_export"} <= set(policies)
    windows = {(p.fail_window.to_timedelta(), p.warn_window.to_timedelta()) for p in policies.values()}
    assert windows == {(timedelta(hours=36), timedelta(hours=26))}
    monkeypatch.setenv("EGOV_KPI_LATE_AFTER_HOURS", "72")
    assert project_freshness_policy().fail_window.to_timedelta() == timedelta(hours=72)

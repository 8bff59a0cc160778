"""Alerts: their content, delivery to a webhook on loopback, and one announcement per incident."""

from __future__ import annotations

import socket

from pipelines.lib import alerts
from tests.operations.conftest import WEBHOOK_SECRET

LATE_REPORT = {
    "agencies": [
        {"agency_code": "000.00.00.H02", "name_en": "Hai Phong", "name_vi": "Hải Phòng", "status": "late",
         "last_day_received": "2025-03-04", "no_data_since": "2025-03-05", "late_since": "2025-03-07T12:00:00+07:00",
         "lag_days": 2},
        {"agency_code": "000.00.00.H01", "name_en": "Ha Noi", "name_vi": "Hà Nội", "status": "on_time",
         "last_day_received": "2025-03-06", "no_data_since": None, "late_since": None, "lag_days": 0},
    ],
    "kpi_tables": [
        {"table": "kpi_scores", "status": "late", "last_updated": "2025-03-05T01:00:00+07:00",
         "data_as_of": "2025-03-04", "late_since": "2025-03-06T13:00:00+07:00"},
        {"table": "kpi_service_coverage", "status": "fresh", "last_updated": "2025-03-07T01:00:00+07:00",
         "data_as_of": "2025-03-06", "late_since": None},
    ],
}


def test_a_failed_check_alert_names_the_agency_the_day_and_the_expectations():
    metadata = {"agency": "000.00.00.H02", "day": "2025-03-04", "failures": (
        "- BLOCKING: expect_column_values_to_not_be_null(dossier_code): 3 unexpected\n"
        "- warning: expect_column_values_to_be_between(fee_amount_vnd): 1 unexpected")}
    alert = alerts.check_failure_alert("raw_dossiers", "raw_dossiers_expectations", metadata, "BLOCKED", "run-1",
                                       "2025-03-05T00:41:00+07:00", "000.00.00.H02|2025-03-04")
    assert alert["kind"] == "check_failed" and (alert["agency"], alert["day"]) == ("000.00.00.H02", "2025-03-04")
    assert alert["failed_expectations"] == ["expect_column_values_to_not_be_null(dossier_code): 3 unexpected"]
    assert alert["message"].startswith("agency 000.00.00.H02, day 2025-03-04: blocking check raw_dossiers_expectations")
    assert alert["run_id"] == "run-1" and alert["description"] == "BLOCKED"


def test_without_an_agency_the_alert_names_the_asset_and_its_partition():
    alert = alerts.check_failure_alert("kpi_scores", "not_null_kpi_scores_points_total", {}, None, "run-2",
                                       "2025-03-05T00:41:00+07:00", None)
    assert (alert["agency"], alert["day"], alert["failed_expectations"]) == (None, None, [])
    assert alert["message"].startswith("asset kpi_scores: blocking check not_null_kpi_scores_points_total")


def test_freshness_incidents_are_the_late_agencies_and_tables():
    incidents = alerts.freshness_incidents(LATE_REPORT)
    assert set(incidents) == {"agency_late:000.00.00.H02", "kpi_table_late:kpi_scores"}
    late = incidents["agency_late:000.00.00.H02"]
    assert (late["agency"], late["no_data_since"], late["late_since"]) == ("000.00.00.H02", "2025-03-05", "2025-03-07T12:00:00+07:00")
    assert "no data since 2025-03-05" in late["message"]


def test_delivery_posts_json_and_never_logs_the_webhook_url(webhook):
    logged = []
    alert = alerts.freshness_incidents(LATE_REPORT)["agency_late:000.00.00.H02"]
    assert alerts.deliver(alert, logged.append)
    assert webhook.bodies == [alert]
    webhook.status = 503
    assert not alerts.deliver(alert, logged.append)
    assert any("HTTP 503" in line for line in logged)
    assert all(WEBHOOK_SECRET not in line and webhook.url not in line for line in logged)


def test_an_unreachable_webhook_is_reported_and_retried_later():
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/hooks/{WEBHOOK_SECRET}"
    logged = []
    assert not alerts.deliver({"kind": "agency_late", "message": "x"}, logged.append, url=url, timeout=2)
    assert "unreachable" in logged[-1] and WEBHOOK_SECRET not in " ".join(logged)


def test_without_a_webhook_alerts_are_logged_only(monkeypatch):
    monkeypatch.delenv("EGOV_ALERT_WEBHOOK_URL", raising=False)
    logged = []
    assert alerts.deliver({"kind": "agency_late", "message": "agency X is late"}, logged.append)
    assert logged == ["ALERT agency_late: agency X is late"]


def test_each_incident_is_announced_once_until_it_is_resolved():
    sent = []
    current = alerts.freshness_incidents(LATE_REPORT)
    opened = alerts.announce_new({}, current, "t1", lambda a: sent.append(a) or True)
    assert sorted(a["incident"] for a in sent) == sorted(current) and set(opened.values()) == {"t1"}
    # Same incidents on the next tick: nothing new.
    assert alerts.announce_new(opened, current, "t2", lambda a: sent.append(a) or True) == opened
    assert len(sent) == 2
    # The agency recovers, then stops again: a new incident, announced again.
    only_table = {k: v for k, v in current.items() if k.startswith("kpi_table")}
    opened = alerts.announce_new(opened, only_table, "t3", lambda a: sent.append(a) or True)
    assert list(opened) == ["kpi_table_late:kpi_scores"]
    opened = alerts.announce_new(opened, current, "t4", lambda a: sent.append(a) or True)
    assert len(sent) == 3 and sent[-1]["agency"] == "000.00.00.H02" and opened["agency_late:000.00.00.H02"] == "t4"


def test_an_undelivered_incident_stays_unannounced_and_is_tried_again():
    current = alerts.freshness_incidents(LATE_REPORT)
    assert alerts.announce_new({}, current, "t1", lambda a: False) == {}
    assert set(alerts.announce_new({}, current, "t2", lambda a: True)) == set(current)

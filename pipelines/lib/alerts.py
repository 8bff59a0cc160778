"""Alerts: what a failed blocking check or a freshness failure says, and its delivery to a webhook.

One alert per incident: an incident is open from the first time it is seen until it is no
longer there, and only its opening is announced. The webhook URL comes from
`EGOV_ALERT_WEBHOOK_URL` (unset: alerts are only logged); it is never logged itself, since
chat webhooks carry their secret in the URL.
"""

from __future__ import annotations

import os
from typing import Callable, Mapping

import requests

WEBHOOK_ENV = "EGOV_ALERT_WEBHOOK_URL"
SOURCE = "vn-egov-kpi"


def webhook_url() -> str | None:
    return os.environ.get(WEBHOOK_ENV) or None


def deliver(alert: dict, log: Callable[[str], None], url: str | None = None, timeout: float = 10.0) -> bool:
    """Log the alert and POST it as JSON; True when it was delivered (or there is no webhook)."""
    log(f"ALERT {alert['kind']}: {alert['message']}")
    url = url or webhook_url()
    if url is None:
        return True
    try:
        response = requests.post(url, json=alert, timeout=timeout)
    except requests.RequestException as error:
        log(f"alert webhook unreachable ({type(error).__name__}); will retry on the next tick")
        return False
    if response.status_code >= 300:
        log(f"alert webhook answered HTTP {response.status_code}; will retry on the next tick")
        return False
    return True


def failed_expectations(markdown: str) -> list[str]:
    """The blocking expectations out of the check's `failures` metadata (one `- BLOCKING: …` line each)."""
    prefix = "- BLOCKING: "
    return [line[len(prefix):] for line in markdown.splitlines() if line.startswith(prefix)]


def check_failure_alert(
    asset: str, check: str, metadata: Mapping[str, object], description: str | None, run_id: str, at: str,
    partition: str | None,
) -> dict:
    """A failed blocking check, naming the agency, the day and the expectations that failed."""
    agency, day = metadata.get("agency"), metadata.get("day")
    expectations = failed_expectations(str(metadata.get("failures") or ""))
    where = f"agency {agency}, day {day}" if agency else f"asset {asset}"
    return {
        "source": SOURCE,
        "kind": "check_failed",
        "asset": asset,
        "check": check,
        "agency": agency,
        "day": day,
        "partition": partition,
        "failed_expectations": expectations,
        "description": description,
        "run_id": run_id,
        "at": at,
        "message": (
            f"{where}: blocking check {check} on {asset} failed"
            + (f" ({'; '.join(expectations)})" if expectations else "")
            + "; kept out of the KPIs until it is re-ingested and passes"
        ),
    }


def freshness_incidents(report: dict) -> dict[str, dict]:
    """Open freshness incidents in a freshness report, by incident id: late or missing agencies
    and late KPI tables."""
    incidents = {}
    for row in report["agencies"]:
        if row["status"] in ("late", "missing"):
            incidents[f"agency_late:{row['agency_code']}"] = {
                "source": SOURCE,
                "kind": "agency_late",
                "agency": row["agency_code"],
                "agency_name": row["name_en"] or row["name_vi"],
                "status": row["status"],
                "last_day_received": row["last_day_received"],
                "no_data_since": row["no_data_since"],
                "late_since": row["late_since"],
                "lag_days": row["lag_days"],
                "message": (
                    f"agency {row['agency_code']} is {row['status']}: no data since {row['no_data_since']} "
                    f"(last day received {row['last_day_received'] or 'never'}), late since {row['late_since']}"
                ),
            }
    for table in report["kpi_tables"]:
        if table["status"] != "fresh":
            incidents[f"kpi_table_late:{table['table']}"] = {
                "source": SOURCE,
                "kind": "kpi_table_late",
                "table": table["table"],
                "status": table["status"],
                "last_updated": table["last_updated"],
                "data_as_of": table["data_as_of"],
                "late_since": table["late_since"],
                "message": (
                    f"KPI table {table['table']} is {table['status']}: last updated {table['last_updated']}, "
                    f"data as of {table['data_as_of']}"
                ),
            }
    return incidents


def asset_freshness_incident(asset: str, state: str) -> dict:
    """An asset whose Dagster freshness policy failed."""
    return {
        "source": SOURCE,
        "kind": "asset_freshness_failed",
        "asset": asset,
        "state": state,
        "message": f"asset {asset} fails its freshness policy (state {state})",
    }


def announce_new(
    opened: Mapping[str, str], current: Mapping[str, dict], now: str, send: Callable[[dict], bool]
) -> dict[str, str]:
    """Send the incidents in `current` that are not open yet; returns the incidents open now
    (id → when opened). Resolved incidents close; an undelivered one stays unannounced and is
    tried again next time."""
    still_open = {}
    for incident, alert in current.items():
        if incident in opened:
            still_open[incident] = opened[incident]
        elif send({**alert, "incident": incident, "opened_at": now}):
            still_open[incident] = now
    return still_open

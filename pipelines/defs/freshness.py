"""Freshness in Dagster: one policy for every asset, and the instance's view of when each KPI
table was last built, for the freshness report.

Every asset is rebuilt each day (the registry, yesterday's agency-days, the KPIs), so one
time-window policy fits them all: warn after a missed daily cycle, fail after the same
threshold as the report's KPI tables (36 hours unless `EGOV_KPI_LATE_AFTER_HOURS` says
otherwise). The policy is per asset, not per partition: which agency is late is the report's job, shown
in the UI as the `agency_freshness` check on the agency registry (a warning, never blocking).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Sequence

import dagster as dg

from pipelines.lib.freshness import Thresholds, freshness_report
from pipelines.settings import TIMEZONE

# One daily cycle and two hours of slack for the night's runs.
WARN_AFTER = timedelta(hours=26)


def project_freshness_policy(thresholds: Thresholds | None = None) -> dg.FreshnessPolicy:
    fail = (thresholds or Thresholds.from_env()).kpi_late_after
    return dg.FreshnessPolicy.time_window(fail_window=fail, warn_window=WARN_AFTER if WARN_AFTER < fail else None)


def with_freshness_policy(assets: Sequence, policy: dg.FreshnessPolicy) -> list:
    """The assets, each with `policy` (the dbt models included)."""
    return list(dg.map_asset_specs(lambda spec: dg.apply_freshness_policy(spec, policy), assets))


def kpi_updated_at(instance: dg.DagsterInstance) -> Callable[[str], datetime | None]:
    """When the dbt model behind a KPI table was last materialized, from the instance."""
    def lookup(table: str) -> datetime | None:
        event = instance.get_latest_materialization_event(dg.AssetKey(table))
        return datetime.fromtimestamp(event.timestamp, TIMEZONE) if event else None

    return lookup


def report_from_instance(instance: dg.DagsterInstance, now: datetime | None = None, latest: Path | None = None) -> dict:
    """The freshness report with the KPI tables' build times from `instance` (tables in `latest`,
    by default the current release)."""
    return freshness_report(now, kpi_updated_at=kpi_updated_at(instance), latest=latest)


def freshness_json(instance: dg.DagsterInstance, release_folder: Path) -> str:
    """freshness.json for a release being written: the report on that release's tables."""
    return json.dumps(report_from_instance(instance, latest=release_folder), ensure_ascii=False, indent=2)


AGENCY_FRESHNESS_CHECK = "agency_freshness"
AGENCY_FRESHNESS_KEY = dg.AssetCheckKey(dg.AssetKey("agency_registry"), AGENCY_FRESHNESS_CHECK)


def agency_freshness_facts(report: dict) -> dict:
    """The report as a check outcome: passed while no agency is late or missing, with the ones that are."""
    summary = report["summary"]
    behind = [a for a in report["agencies"] if a["status"] != "on_time"]
    rows = "\n".join(f"| {a['agency_code']} | {a['name_vi'] or ''} | {a['status']} | {a['no_data_since'] or '—'} | "
                     f"{a['late_since'] or '—'} |" for a in behind)
    late, missing = summary["late"], summary["missing"]
    return {
        "passed": not behind,
        "description": f"{summary['on_time']} of {summary['agencies']} agencies on time; late: {', '.join(late) or 'none'}; "
                       f"missing: {', '.join(missing) or 'none'} (python -m pipelines freshness)",
        "metadata": {
            "agencies": summary["agencies"],
            "on_time": summary["on_time"],
            "late": len(late),
            "missing": len(missing),
            "complete_through": report["complete_through"] or "none",
            "agencies_behind": dg.MetadataValue.md(
                "| agency | name | status | no data since | late since |\n|---|---|---|---|---|\n" + rows if behind else "none"
            ),
        },
    }


@dg.asset_check(asset=AGENCY_FRESHNESS_KEY.asset_key, name=AGENCY_FRESHNESS_CHECK, blocking=False,
                description="Which agencies are late or missing (the freshness report); a warning. The "
                            "freshness_alerts sensor records it whenever that changes.")
def agency_freshness(context) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(severity=dg.AssetCheckSeverity.WARN,
                               **agency_freshness_facts(report_from_instance(context.instance)))


def agency_freshness_evaluation(report: dict) -> dg.AssetCheckEvaluation:
    """The same outcome, for a sensor to record without a run."""
    return dg.AssetCheckEvaluation(asset_key=AGENCY_FRESHNESS_KEY.asset_key, check_name=AGENCY_FRESHNESS_CHECK,
                                   severity=dg.AssetCheckSeverity.WARN, **agency_freshness_facts(report))

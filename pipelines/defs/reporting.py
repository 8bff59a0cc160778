"""How a run of many agency-days shows each of them in the UI.

Materializations are per day (Dagster records one per partition of the run); what happened to
each agency inside a day is an observation on that day's partition, with a table of agencies
and their outcome, and each run's checks list the agency-days that failed or were blocked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import dagster as dg

from pipelines.lib.pulls import AgencyDayOutcome


def agency_day_table(rows: Sequence[AgencyDayOutcome], status: str | None = None) -> dg.TableMetadataValue:
    """One row per agency-day: agency, day, status, detail."""
    return dg.MetadataValue.table(
        records=[
            dg.TableRecord({"agency": o.agency_code, "day": o.day.isoformat(),
                            "status": status or ("landed" if o.ok else "failed"), "detail": o.error or ""})
            for o in rows
        ],
        schema=dg.TableSchema(columns=[dg.TableColumn(name) for name in ("agency", "day", "status", "detail")]),
    )


def record_pulls(context, asset_key: dg.AssetKey, outcomes: Sequence[AgencyDayOutcome]) -> None:
    """One observation per day of the run: how many agencies landed, and which failed and why."""
    by_day: dict = defaultdict(list)
    for outcome in outcomes:
        by_day[outcome.day].append(outcome)
    for day, rows in sorted(by_day.items()):
        failed = [o for o in rows if not o.ok]
        context.log_event(dg.AssetObservation(
            asset_key=asset_key, partition=day.isoformat(),
            description=f"{day}: {len(rows) - len(failed)} of {len(rows)} agencies landed"
                        + (f"; failed: {', '.join(o.agency_code for o in failed)}" if failed else ""),
            metadata={"agencies": len(rows), "landed": len(rows) - len(failed), "failed": len(failed),
                      "agency_days": agency_day_table(rows)},
        ))


def pull_check(check_name: str, outcomes: Sequence[AgencyDayOutcome]) -> dg.AssetCheckResult:
    """Passes when every agency-day of the run was pulled; an ERROR naming each one that was not
    (it stays out of the KPIs; the failure alert announces it)."""
    failed = [o for o in outcomes if not o.ok]
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(f"all {len(outcomes)} agency-days pulled" if not failed else
                     f"{len(failed)} of {len(outcomes)} agency-days could not be pulled and stay out of the KPIs: "
                     + "; ".join(o.describe() for o in failed[:20])),
        metadata={"agency_days": len(outcomes), "failed": len(failed), "failures": agency_day_table(failed)},
    )

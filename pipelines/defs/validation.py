"""Great Expectations on the agency-days of a run, and the gate that lets each through to dbt.

The validation step (pipelines/lib/validation_run.py) runs each suite once over the run's rows,
judges every agency-day on its own failures, quarantines failing rows, and publishes the
agency-days that pass to validated/: dossiers, procedure catalogues and manifests, its three
outputs. Its checks observe what it decided (they never publish): a check fails with ERROR
severity when some agency-day of the run was blocked, and names each one. The suites are in
expectations/, what each failure means in docs/data-quality.md.
"""

from collections import defaultdict

import dagster as dg
import pyarrow.parquet as pq

from pipelines.defs.partitions import DAILY_PARTITIONS, INGEST_BACKFILL_POLICY, run_agency_days
from pipelines.defs.resources import DayLocks
from pipelines.defs.sources import agency_registry, procedure_catalogue, raw_dossiers
from pipelines.lib import data_docs, paths
from pipelines.lib.expectations import validate_frame
from pipelines.lib.validation import verdict
from pipelines.lib.validation_run import DOCS, AgencyDayVerdict, validate_agency_days

ROWS_CHECK = "raw_dossiers_expectations"
PARTITION_CHECK = "raw_dossiers_partition_expectations"
VOLUME_CHECK = "raw_dossiers_volume"
CATALOGUE_CHECK = "procedure_catalogue_expectations"
# Check → (the asset it is on, the suite it reports, whether its failures block agency-days).
CHECKS = {
    CATALOGUE_CHECK: ("validated_procedures", "procedure_catalogue", True),
    ROWS_CHECK: ("validated_dossiers", "raw_dossiers", True),
    PARTITION_CHECK: ("validated_dossiers", "raw_dossier_partitions", True),
    VOLUME_CHECK: ("validated_dossiers", "raw_dossiers_volume", False),
}
CHECK_DESCRIPTIONS = {
    CATALOGUE_CHECK: "The procedure_catalogue suite on the run's catalogues; a blocked agency-day's dossiers are not "
                     "published.",
    ROWS_CHECK: "The raw_dossiers suite: failing rows are quarantined; an agency-day is blocked on partition-level "
                "failures or when too many of its rows fail.",
    PARTITION_CHECK: "The raw_dossier_partitions suite: schema drift and reconciliation; blocks the agency-day.",
    VOLUME_CHECK: "Each agency-day's row count against the same weekday of the previous weeks; a warning.",
}
# The hand-off to dbt: unpartitioned assets for every validated agency-day (one per dbt source),
# so that the KPI run depends on them alone and never lists the daily partitions upstream.
HANDOFF = {name: dg.AssetKey(["validated_agency_days", name]) for name in ("dossiers", "procedures", "partitions")}


def _agency_day_rows(items: list[AgencyDayVerdict], suite: str) -> dg.TableMetadataValue:
    return dg.MetadataValue.table(
        records=[dg.TableRecord({"agency": i.agency_code, "day": i.day.isoformat(), "status": i.status,
                                 "quarantined": i.quarantined, "failures": i.verdicts[suite].markdown()})
                 for i in items],
        schema=dg.TableSchema(columns=[dg.TableColumn(n) for n in ("agency", "day", "status", "quarantined",
                                                                    "failures")]),
    )


def _blocking(judged) -> str:
    """The blocking lines of a verdict, without their marker: what the description names."""
    return "; ".join(line.removeprefix("- BLOCKING: ") for line in judged.lines if line.startswith("- BLOCKING: "))


def check_result(check_name: str, items: list[AgencyDayVerdict], docs_page: str) -> dg.AssetCheckResult:
    """One check over the run: passed when no agency-day failed the suite; ERROR when some were blocked."""
    asset, suite, blocks = CHECKS[check_name]
    judged = [i for i in items if suite in i.verdicts]
    failed = [i for i in judged if i.verdicts[suite].failed]
    blocked = [i for i in failed if i.verdicts[suite].blocked]
    if blocked:
        description = (f"{len(blocked)} of {len(judged)} agency-days BLOCKED, kept out of the KPIs until re-ingested "
                       f"and passing ({DOCS}): " + "; ".join(f"{i.where}: BLOCKED by {_blocking(i.verdicts[suite])}"
                                                             for i in blocked[:10]))
    elif failed:
        description = f"{len(failed)} of {len(judged)} agency-days had failures and go on ({DOCS})"
    else:
        description = f"all {len(judged)} agency-days passed"
    return dg.AssetCheckResult(
        asset_key=asset, check_name=check_name, passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR if blocked else dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={
            "suite": suite,
            "agency_days": len(judged),
            "failed": len(failed),
            "blocked": len(blocked),
            "quarantined_rows": sum(i.quarantined for i in judged) if suite == "raw_dossiers" else 0,
            "failures": _agency_day_rows(failed, suite),
            "data_docs_url": dg.MetadataValue.url(docs_page),
        },
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec("validated_dossiers", deps=[raw_dossiers], group_name="validated", kinds={"parquet"},
                     description="Each agency-day's dossier versions that passed validation, quarantined rows left "
                                 "out; what dbt reads."),
        dg.AssetSpec("validated_procedures", deps=[procedure_catalogue], group_name="validated", kinds={"parquet"},
                     description="Each agency-day's procedure catalogue once it passed its suite; what dbt reads."),
        dg.AssetSpec("validated_partitions", deps=[raw_dossiers], group_name="validated", kinds={"parquet"},
                     description="One row per validated agency-day: the source's total, landed and quarantined."),
    ],
    check_specs=[dg.AssetCheckSpec(name, asset=asset, blocking=blocks, description=CHECK_DESCRIPTIONS[name])
                 for name, (asset, _suite, blocks) in CHECKS.items()],
    partitions_def=DAILY_PARTITIONS,
    backfill_policy=INGEST_BACKFILL_POLICY,
    name="validation",
)
def validation(context: dg.AssetExecutionContext, day_locks: DayLocks):
    """Validate the run's landed agency-days once per suite, publish those that pass, report each."""
    agency_days = run_agency_days(context)
    days = f"{agency_days[0][1]} … {agency_days[-1][1]}" if agency_days else "no agency-day"
    run = validate_agency_days(agency_days, run_name=f"run {context.run.run_id[:8]}: {days}")
    page = data_docs.publish_run(context.run.run_id, run.outcomes, run.agency_days, f"Validation of {days}")
    for item in run.agency_days:
        if not item.published:
            context.log.warning(f"{item.where}: not published: {item.reason}")
    _record_days(context, run.agency_days)
    published = [i for i in run.agency_days if i.published]
    yield dg.MaterializeResult(asset_key="validated_dossiers", metadata={
        "agency_days": len(run.agency_days), "published": len(published),
        "quarantined_rows": sum(i.quarantined for i in run.agency_days),
        "data_docs_url": dg.MetadataValue.url(data_docs.page_url(page))})
    yield dg.MaterializeResult(asset_key="validated_procedures", metadata={
        "published": sum(paths.validated_procedures_file(i.agency_code, i.day).exists() for i in run.agency_days)})
    yield dg.MaterializeResult(asset_key="validated_partitions", metadata={"published": len(published)})
    for check_name in CHECKS:
        yield check_result(check_name, run.agency_days, data_docs.page_url(page))
    for key in HANDOFF.values():
        context.log_event(dg.AssetMaterialization(asset_key=key, description=f"validated agency-days of {days}",
                                                  metadata={"published": len(published), "days": days}))


def _record_days(context, items: list[AgencyDayVerdict]) -> None:
    """One observation per day on validated_dossiers: each agency's status that day."""
    by_day = defaultdict(list)
    for item in items:
        by_day[item.day].append(item)
    for day, rows in sorted(by_day.items()):
        counts = defaultdict(int)
        for item in rows:
            counts[item.status] += 1
        context.log_event(dg.AssetObservation(
            asset_key="validated_dossiers", partition=day.isoformat(),
            description=f"{day}: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())),
            metadata={**{status: n for status, n in counts.items()}, "agency_days": dg.MetadataValue.table(
                records=[dg.TableRecord({"agency": i.agency_code, "status": i.status, "quarantined": i.quarantined,
                                         "reason": i.reason}) for i in rows],
                schema=dg.TableSchema(columns=[dg.TableColumn(n) for n in ("agency", "status", "quarantined",
                                                                            "reason")]))},
        ))


# Lineage only: the validated agency-days as dbt reads them, recorded by each validation run.
validated_agency_days = [
    dg.AssetSpec(key, deps=[f"validated_{name}"], group_name="validated",
                 description=f"Every validated agency-day's {name}, as one unpartitioned hand-off to dbt: recorded "
                             "by each validation run, read by the KPI models.")
    for name, key in HANDOFF.items()
]


@dg.asset_check(asset=agency_registry, blocking=True, name="agency_registry_expectations")
def agency_registry_expectations(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    """The agency_registry suite: codes, levels, validity dates, successors."""
    frame = pq.read_table(paths.agencies_file()).to_pandas()
    outcome = validate_frame(frame, "agency_registry", key_column="agency_code", run_name="agency registry",
                             parameters={"agency_codes": sorted(frame["agency_code"].dropna())})
    judged = verdict(outcome)
    page = data_docs.publish_run(context.run.run_id, {"agency_registry": [outcome]}, [], "Agency registry")
    return dg.AssetCheckResult(
        passed=not judged.failed,
        severity=dg.AssetCheckSeverity.ERROR if judged.blocked else dg.AssetCheckSeverity.WARN,
        description=(f"agency registry: BLOCKED by {', '.join(f.name for f in outcome.failures)} ({DOCS})"
                     if judged.blocked else f"agency registry: {len(outcome.failures)} warning(s)" if judged.failed
                     else f"agency registry: all {outcome.evaluated} expectations passed"),
        metadata={"suite": "agency_registry", "rows": outcome.rows, "failures": dg.MetadataValue.md(judged.markdown()),
                  "data_docs_url": dg.MetadataValue.url(data_docs.page_url(page))},
    )

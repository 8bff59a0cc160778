"""Great Expectations on each landed agency-day, and the gate that lets it through to dbt.

The check is blocking: when an expectation marked blocking fails, `validated_dossiers` for
that agency-day does not run, so the KPI models never read it. Other failures are warnings.
"""

import os

import dagster as dg
import pyarrow.parquet as pq

from pipelines.defs.partitions import AGENCY_DAY_PARTITIONS, agency_day
from pipelines.defs.sources import raw_dossiers
from pipelines.lib import paths
from pipelines.lib.expectations import validate_frame
from pipelines.lib.landing import partition_path

SUITE = "raw_dossiers"


@dg.asset_check(asset=raw_dossiers, blocking=True, partitions_def=AGENCY_DAY_PARTITIONS, name="raw_dossiers_expectations")
def raw_dossiers_expectations(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    """The `raw_dossiers` suite in expectations/ on the partition's landed file."""
    agency_code, day = agency_day(context)
    path = partition_path(paths.raw_dossiers_root(), day, agency_code, paths.DOSSIERS_FILE)
    frame = pq.read_table(path).to_pandas()
    outcome = validate_frame(frame, SUITE)
    blocking = outcome.blocking_failures
    metadata = {
        "agency": agency_code,
        "day": day.isoformat(),
        "rows": outcome.rows,
        "expectations_evaluated": outcome.evaluated,
        "blocking_failures": len(blocking),
        "warnings": len(outcome.warnings),
        "failures": dg.MetadataValue.md(
            "\n".join(f"- {'BLOCKING' if f.blocking else 'warning'}: {f.describe()}" for f in outcome.failures) or "none"
        ),
    }
    if blocking:
        context.log.error(
            f"agency {agency_code}, day {day}: {len(blocking)} blocking expectation(s) failed; the KPI models "
            f"will not read this partition: " + "; ".join(f.describe() for f in blocking)
        )
    return dg.AssetCheckResult(
        passed=not outcome.failures,
        severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
        metadata=metadata,
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec("validated_dossiers", deps=[raw_dossiers], group_name="validated", kinds={"parquet"},
                     description="The agency-day's dossier versions, for dbt, once its blocking checks passed."),
        dg.AssetSpec("validated_partitions", deps=[raw_dossiers], group_name="validated", kinds={"parquet"},
                     description="One row per validated agency-day: the source's total, landed and quarantined."),
    ],
    partitions_def=AGENCY_DAY_PARTITIONS,
)
def validated_dossiers(context: dg.AssetExecutionContext):
    """Publish the agency-day to dbt by hard links (no copy) and atomic renames."""
    agency_code, day = agency_day(context)
    for name, target_root in ((paths.DOSSIERS_FILE, paths.validated_dossiers_root()),
                              (paths.PARTITION_FILE, paths.validated_partitions_root())):
        source = partition_path(paths.raw_dossiers_root(), day, agency_code, name)
        target = partition_path(target_root, day, agency_code, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".{name}.link")
        staging.unlink(missing_ok=True)
        os.link(source, staging)
        os.replace(staging, target)
    manifest = pq.read_table(partition_path(paths.validated_partitions_root(), day, agency_code, paths.PARTITION_FILE))
    counts = {k: v[0] for k, v in manifest.to_pydict().items() if k not in ("day", "agency_code")}
    yield dg.MaterializeResult(asset_key="validated_dossiers", metadata={"rows": counts["landed"]})
    yield dg.MaterializeResult(asset_key="validated_partitions", metadata=counts)

"""Publish the KPI tables and code lists as a versioned open-data release (pipelines/lib/release)."""

import dagster as dg

from pipelines.defs.freshness import freshness_json
from pipelines.defs.transform import DBT_PROJECT, kpi_models
from pipelines.lib.release.build import publish_release
from pipelines.settings import open_data_dir, warehouse_path

# The monthly close's run tags (schedules.monthly_close): the release closes that month.
RELEASE_TAG = "egov/release"
PERIOD_TAG = "egov/period"
MONTHLY_CLOSE = "monthly-close"


@dg.asset(
    group_name="publish",
    kinds={"csv", "parquet", "json"},
    deps=[key for key in kpi_models.keys if key.path[-1].startswith(("kpi_", "dim_"))],
    pool="duckdb_writer",
)
def open_data_export(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """A new release in open/releases/<version>/ when the figures changed, and open/latest switched
    to it once every check passed (Frictionless, checksums, formats, personal data)."""
    tags = context.run.tags
    closes = tags.get(PERIOD_TAG) if tags.get(RELEASE_TAG) == MONTHLY_CLOSE else None
    outcome = publish_release(warehouse_path(), open_data_dir(), DBT_PROJECT.manifest_path, closes=closes,
                              attachments=lambda folder: {"freshness.json": freshness_json(context.instance, folder)})
    if not outcome.created:
        context.log.info(f"nothing changed since release {outcome.version}: no new release")
    return dg.MaterializeResult(
        metadata={
            "version": outcome.version,
            "new_release": outcome.created,
            "change": outcome.level or "none",
            "closes": closes or "none",
            "path": str(open_data_dir() / "latest"),
            **{f"rows_{name}": rows for name, rows in outcome.rows.items()},
        }
    )

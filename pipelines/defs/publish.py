"""Publish the KPI tables as open data: CSV, Parquet and a Frictionless data package."""

import dagster as dg

from pipelines.defs.transform import DBT_PROJECT
from pipelines.lib.publish import KPI_TABLES, publish_latest
from pipelines.settings import open_data_dir, warehouse_path


@dg.asset(
    group_name="publish",
    kinds={"csv", "parquet"},
    deps=[dg.AssetKey(table) for table in KPI_TABLES],
    pool="duckdb_writer",
)
def open_data_export() -> dg.MaterializeResult:
    """The KPI tables as downloads in open/latest/, with datapackage.json describing every column."""
    package = publish_latest(warehouse_path(), open_data_dir(), DBT_PROJECT.manifest_path)
    return dg.MaterializeResult(
        metadata={
            "path": str(open_data_dir() / "latest"),
            **{f"rows_{r['name']}": r["rows"] for r in package["resources"] if r["format"] == "csv"},
        }
    )

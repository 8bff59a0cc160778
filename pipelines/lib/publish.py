"""Export the KPI tables from the warehouse as open-data files with a Frictionless descriptor.

The export is built in a fresh folder and `latest` is switched to it with one atomic rename of
a symbolic link, so a reader never sees a half-written set of files.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import duckdb

KPI_TABLES = ("kpi_processed_records", "kpi_service_coverage", "kpi_transaction_volumes")
PRIMARY_KEY = ["period", "period_start", "geography", "agency_code"]
LICENSE = {
    "name": "CC-BY-4.0",
    "path": "https://creativecommons.org/licenses/by/4.0/",
    "title": "Creative Commons Attribution 4.0",
}
FRICTIONLESS_TYPES = {
    "VARCHAR": "string", "DATE": "date", "TIMESTAMP": "datetime", "BOOLEAN": "boolean",
    "DOUBLE": "number", "FLOAT": "number", "DECIMAL": "number",
    "BIGINT": "integer", "INTEGER": "integer", "SMALLINT": "integer", "HUGEINT": "integer", "TINYINT": "integer",
}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def model_docs(manifest_path: Path) -> dict[str, dict]:
    """Descriptions of each dbt model and its columns, from the manifest: one source of docs."""
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    return {
        node["name"]: {
            "description": node.get("description", ""),
            "columns": {name: col.get("description", "") for name, col in node.get("columns", {}).items()},
        }
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
    }


def _field(name: str, duck_type: str, description: str) -> dict:
    base = duck_type.split("(")[0].upper()
    field = {"name": name, "type": FRICTIONLESS_TYPES.get(base, "string")}
    if description:
        field["description"] = description
    if name in PRIMARY_KEY:
        field["constraints"] = {"required": True}
    return field


def export_table(con: duckdb.DuckDBPyConnection, table: str, folder: Path, docs: dict) -> list[dict]:
    """Write one table as CSV (UTF-8, ISO dates) and Parquet; return their resource entries."""
    columns = con.execute(f"describe {table}").fetchall()
    order = ", ".join(PRIMARY_KEY)
    query = f"select * from {table} order by {order}"
    csv_path, parquet_path = folder / f"{table}.csv", folder / f"{table}.parquet"
    con.execute(f"copy ({query}) to '{csv_path}' (header, delimiter ',', dateformat '%Y-%m-%d')")
    con.execute(f"copy ({query}) to '{parquet_path}' (format parquet, compression zstd)")
    rows = con.execute(f"select count(*) from {table}").fetchone()[0]
    table_docs = docs.get(table, {"description": "", "columns": {}})
    schema = {
        "fields": [_field(name, duck_type, table_docs["columns"].get(name, "")) for name, duck_type, *_ in columns],
        "primaryKey": PRIMARY_KEY,
    }
    resources = []
    for path, fmt, media in ((csv_path, "csv", "text/csv"), (parquet_path, "parquet", "application/vnd.apache.parquet")):
        resource = {
            "name": table if fmt == "csv" else f"{table}-parquet",
            "path": path.name,
            "type": "table",
            "format": fmt,
            "mediatype": media,
            "description": table_docs["description"].strip(),
            "bytes": path.stat().st_size,
            "hash": f"sha256:{sha256_of(path)}",
            "schema": schema,
            "rows": rows,
        }
        if fmt == "csv":
            resource["encoding"] = "utf-8"
            resource["dialect"] = {"header": True, "delimiter": ","}
        resources.append(resource)
    return resources


def publish_latest(warehouse: Path, open_dir: Path, manifest_path: Path) -> dict:
    """Export every KPI table into a new build folder, then point `latest` at it."""
    builds = open_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    staging = builds / f".staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    docs = model_docs(manifest_path)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        resources = [r for table in KPI_TABLES for r in export_table(con, table, staging, docs)]
    package = {
        "$schema": "https://datapackage.org/profiles/2.0/datapackage.json",
        "name": "vn-egov-kpi",
        "title": "Chỉ số dịch vụ công trực tuyến / Vietnam e-government service KPIs",
        "description": (
            "Processed records, online service coverage and transaction volumes of Vietnam's "
            "ministries and provinces, per agency and day, computed from their one-stop-shop "
            "service logs (Decision 766/QĐ-TTg)."
        ),
        "licenses": [LICENSE],
        "resources": [{k: v for k, v in r.items() if k != "rows"} for r in resources],
    }
    (staging / "datapackage.json").write_text(json.dumps(package, ensure_ascii=False, indent=2), encoding="utf-8")
    build_id = hashlib.sha256("".join(r["hash"] for r in resources).encode()).hexdigest()[:16]
    final = builds / build_id
    if final.exists():
        shutil.rmtree(staging)
    else:
        os.replace(staging, final)
    link = open_dir / "latest"
    tmp_link = open_dir / f".latest-{os.getpid()}"
    tmp_link.unlink(missing_ok=True)
    tmp_link.symlink_to(final.relative_to(open_dir), target_is_directory=True)
    os.replace(tmp_link, link)
    return {**package, "resources": resources}

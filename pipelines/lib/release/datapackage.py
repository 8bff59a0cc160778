"""The Frictionless Data Package (v2) descriptor of a release: every file, its schema and hash."""

from __future__ import annotations

import pyarrow as pa

from pipelines.lib.landing import sha256_of
from pipelines.lib.release import metadata
from pipelines.lib.release.formats import CSV, EXCEL_CSV, JSON, PARQUET, Format
from pipelines.lib.release.revisions import REVISED, REVISED_COLUMNS
from pipelines.lib.release.suppression import STATUS_LABELS, STATUS_SUFFIX

PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"
RESOURCE_SUFFIX = {CSV: "", EXCEL_CSV: "-excel", PARQUET: "-parquet", JSON: "-json"}
FOREIGN_KEYS = {"agency_code": ("agencies", "agency_code")}
FLAG_DOCS = {
    REVISED: "true when a value of this row changed since the previous release (see revised_columns); false for rows unchanged or new.",
    REVISED_COLUMNS: "The columns whose value or status changed since the previous release, separated by `;` (empty when none).",
}


def field_type(kind: pa.DataType) -> str:
    if pa.types.is_integer(kind):
        return "integer"
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "number"
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_date(kind):
        return "date"
    if pa.types.is_timestamp(kind):
        return "datetime"
    return "string"


def table_schema(schema: pa.Schema, docs: dict[str, str], key: list[str], name: str, tables: set[str]) -> dict:
    """Types, descriptions, key constraints, status codes and labelled missing values."""
    fields = []
    for column in schema:
        field = {"name": column.name, "type": field_type(column.type)}
        status_of = column.name.removesuffix(STATUS_SUFFIX) if column.name.endswith(STATUS_SUFFIX) else None
        if status_of and status_of in schema.names:
            field["description"] = f"Why `{status_of}` is or is not published: one of the codes below."
            field["categories"] = [{"value": code, "label": f"{vi} / {en}"} for code, (vi, en) in STATUS_LABELS.items()]
            field["constraints"] = {"required": True, "enum": list(STATUS_LABELS)}
        elif column.name in FLAG_DOCS:
            field["description"] = FLAG_DOCS[column.name]
        elif docs.get(column.name):
            field["description"] = docs[column.name]
        if column.name + STATUS_SUFFIX in schema.names:
            field["missingValues"] = [{"value": "", "label": f"suppressed or not applicable: see {column.name}{STATUS_SUFFIX}"}]
        if column.name in key:
            field["constraints"] = {"required": True}
        fields.append(field)
    result = {"fields": fields, "missingValues": [""]}
    if key:
        result["primaryKey"] = key
    result["foreignKeys"] = [
        {"fields": [column], "reference": {"resource": target, "fields": [target_field]}}
        for column, (target, target_field) in FOREIGN_KEYS.items()
        if column in schema.names and target != name and target in tables
    ]
    if not result["foreignKeys"]:
        del result["foreignKeys"]
    return result


def resource(table_name: str, fmt: Format, path, schema: dict, description: str, rows: int) -> dict:
    entry = {
        "name": table_name + RESOURCE_SUFFIX[fmt],
        "path": path.name,
        "title": f"{table_name} — {fmt.title}",
        "description": description,
        "format": fmt.format,
        "mediatype": fmt.mediatype,
        "bytes": path.stat().st_size,
        "hash": f"sha256:{sha256_of(path)}",
    }
    if fmt in (CSV, EXCEL_CSV):
        entry["encoding"] = "utf-8-sig" if fmt is EXCEL_CSV else "utf-8"
        entry["dialect"] = {"header": True, "delimiter": ",", "quoteChar": '"'}
    if fmt in (CSV, EXCEL_CSV):
        entry["type"] = "table"
        entry["schema"] = schema
        entry["rows"] = rows  # Frictionless checks it against the file
    else:
        # The same rows and columns as the CSV (checked when the release is built); Parquet
        # carries its own types. Frictionless checks these files' bytes and hash.
        entry["type"] = "file"
        entry["description"] = f"{description} The same table as `{table_name}`.".strip()
    return entry


def file_resource(companion, path) -> dict:
    """A file of the release that is not one of its tables (the SQLite database, the docs…)."""
    return {
        "name": companion.name.lower(),
        "path": path.name,
        "type": "file",
        "title": companion.title,
        "description": companion.description,
        "format": companion.format,
        "mediatype": companion.mediatype,
        "bytes": path.stat().st_size,
        "hash": f"sha256:{sha256_of(path)}",
    }


def descriptor(version: str, resources: list[dict], dates: dict, extra: dict) -> dict:
    return {
        "$schema": PROFILE,
        "name": metadata.DATASET_NAME,
        "title": f"{metadata.TITLE['vi']} / {metadata.TITLE['en']}",
        "description": f"{metadata.DESCRIPTION['vi']}\n\n{metadata.DESCRIPTION['en']}",
        "version": version,
        "created": dates["published"],
        "homepage": metadata.base_url(),
        "keywords": metadata.KEYWORDS["vi"] + metadata.KEYWORDS["en"],
        "licenses": [metadata.LICENSE],
        "contributors": [
            {"title": metadata.PUBLISHER["name"]["en"], "email": metadata.PUBLISHER["email"], "roles": ["publisher"]}
        ],
        **extra,
        "resources": resources,
    }

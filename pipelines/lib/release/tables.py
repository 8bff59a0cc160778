"""Which tables a release publishes, read from the warehouse's own catalogue and the dbt manifest.

KPI tables are every `kpi_*` dbt model present in the warehouse, so new marts are published without
touching this code. Code lists come from the `dim_*` models when they exist, else from staging.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from pipelines.settings import TIMEZONE

KPI_PREFIX = "kpi_"
# Published name → (preferred model, fallback query over staging when the model is absent).
CODE_LISTS = {
    "agencies": ("dim_agencies", "select * from stg_agencies"),
    "provinces": (
        "dim_provinces",
        # The province agencies carry the GSO code and, for the 63 provinces merged on 1 July 2025,
        # the successor that absorbed them: the 63 → 34 crosswalk with its validity dates.
        "select agency_code, gso_province_code, name_vi, name_en, valid_from, valid_to, successor_code "
        "from stg_agencies where agency_level = 'province'",
    ),
    "procedures": (
        "dim_procedures",
        # The catalogue as last listed, with the first and last day it was listed in the period.
        "select * exclude (day, rn, landed_file, landed_modified), first_listed, last_listed from ("
        " select *, row_number() over (partition by agency_code, procedure_code order by day desc) as rn,"
        " min(day) over (partition by agency_code, procedure_code) as first_listed,"
        " max(day) over (partition by agency_code, procedure_code) as last_listed"
        " from stg_procedures) where rn = 1",
    ),
}
CODE_LIST_KEYS = {"agencies": ["agency_code"], "provinces": ["agency_code"], "procedures": ["agency_code", "procedure_code"]}
CODE_LIST_DOCS = {
    "agencies": "Agencies (ministries G-codes, provinces H-codes) with their validity dates and successors.",
    "provinces": "Provinces: electronic agency code, GSO statistical code, validity and the successor after the 2025 merger (63 → 34).",
    "procedures": "Administrative procedures (TTHC) in each agency's catalogue, as last listed in the period covered.",
}
AS_OF_COLUMNS = ("loaded_at", "ingested_at", "read_at", "fetched_at")


@dataclass
class Table:
    """One published table: its data (pandas, nullable dtypes) and what the manifest says of it."""

    name: str
    kind: str  # "kpi" or "code_list"
    frame: pd.DataFrame
    arrow_schema: pa.Schema
    primary_key: list[str]
    description: str = ""
    column_docs: dict[str, str] = field(default_factory=dict)


def manifest_models(manifest_path: Path) -> dict[str, dict]:
    """Description, column docs and primary key of every dbt model."""
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    keys: dict[str, list[str]] = {}
    for node in manifest["nodes"].values():
        meta = node.get("test_metadata") or {}
        attached = (node.get("attached_node") or "").rsplit(".", 1)[-1]
        kwargs = meta.get("kwargs", {})
        if meta.get("name") == "unique_combination":
            keys.setdefault(attached, list(kwargs.get("arguments", kwargs).get("columns", [])))
        elif meta.get("name") == "unique" and kwargs.get("column_name"):
            keys.setdefault(attached, [kwargs["column_name"]])
    return {
        node["name"]: {
            "description": " ".join((node.get("description") or "").split()),
            "columns": {n: " ".join((c.get("description") or "").split()) for n, c in node.get("columns", {}).items()},
            "primary_key": list(node.get("primary_key") or []) or keys.get(node["name"], []),
        }
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
    }


def relations(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("select table_name from information_schema.tables where table_schema = 'main'").fetchall()
    return {name for (name,) in rows}


def _frame(con: duckdb.DuckDBPyConnection, query: str, key: list[str]) -> tuple[pd.DataFrame, pa.Schema]:
    order = f" order by {', '.join(key)}" if key else ""
    arrow = con.sql(f"select * from ({query}){order}").to_arrow_table()
    return to_frame(arrow), arrow.schema


def to_frame(arrow: pa.Table) -> pd.DataFrame:
    """Nullable pandas dtypes, so a blanked count stays an integer; dates stay `datetime.date`."""
    def mapper(kind: pa.DataType):
        if pa.types.is_integer(kind):
            return pd.Int64Dtype()
        if pa.types.is_floating(kind):
            return pd.Float64Dtype()
        if pa.types.is_boolean(kind):
            return pd.BooleanDtype()
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            return pd.StringDtype()
        return None

    return arrow.to_pandas(types_mapper=mapper, date_as_object=True)


def load_tables(con: duckdb.DuckDBPyConnection, manifest_path: Path) -> list[Table]:
    """The KPI tables and code lists, each sorted by its primary key."""
    docs = manifest_models(manifest_path)
    present = relations(con)
    tables = []
    # dbt models only: a seed such as kpi_score_rules is configuration, not a KPI table.
    for model in sorted(r for r in present if r.startswith(KPI_PREFIX) and r in docs):
        model_docs = docs.get(model, {})
        key = model_docs.get("primary_key") or [c for c in ("agency_code", "day") if c in _columns(con, model)]
        frame, schema = _frame(con, f"select * from {model}", key)
        tables.append(Table(model, "kpi", frame, schema, key, model_docs.get("description", ""), model_docs.get("columns", {})))
    for name, (model, fallback) in CODE_LISTS.items():
        source = model if model in present else None
        if source is None and not {"stg_agencies", "stg_procedures"} <= present:
            continue
        model_docs = docs.get(model, {}) if source else docs.get("stg_procedures" if name == "procedures" else "stg_agencies", {})
        key = (docs.get(model, {}).get("primary_key") if source else None) or CODE_LIST_KEYS[name]
        frame, schema = _frame(con, f"select * from {source}" if source else fallback, key)
        description = (docs.get(model, {}).get("description") if source else "") or CODE_LIST_DOCS[name]
        tables.append(Table(name, "code_list", frame, schema, key, description, model_docs.get("columns", {})))
    return tables


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    return [row[0] for row in con.execute(f"describe {relation}").fetchall()]


def period_covered(con: duckdb.DuckDBPyConnection) -> tuple | None:
    """First and last validated day: the days the figures are computed from."""
    if "stg_validated_partitions" not in relations(con):
        return None
    first, last = con.execute("select min(day), max(day) from stg_validated_partitions").fetchone()
    return None if first is None else (first, last)


def data_as_of(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """When the sources were last read: a load timestamp if the validated partitions carry one,
    else the end of the last validated day (the sources are read once a day is complete)."""
    if "stg_validated_partitions" not in relations(con):
        return None
    columns = _columns(con, "stg_validated_partitions")
    loaded = next((c for c in AS_OF_COLUMNS if c in columns), None)
    if loaded:
        value = con.execute(f"select max({loaded}) from stg_validated_partitions").fetchone()[0]
        if value is not None:
            return value if value.tzinfo else value.replace(tzinfo=TIMEZONE)
    last_day = con.execute("select max(day) from stg_validated_partitions").fetchone()[0]
    return None if last_day is None else datetime.combine(last_day + timedelta(days=1), time(0), TIMEZONE)

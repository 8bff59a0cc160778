"""Every table of a release in one SQLite file: the database the query API serves, and a
download of its own (one file, typed, indexed, opens in any SQLite tool or in Datasette).

Written once, at publish time, from the same Arrow tables as the CSV, Parquet and JSON files, so
it holds the same rows and values: dates as ISO 8601 text, booleans as 0/1, blanks as NULL.
Each table has its primary key and an index on every key column, so a filter on any key column
(agency, level, geography, period, date) is an index lookup, not a scan.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

DATABASE_FILE = "vn-egov-kpi.sqlite"
# Columns worth filtering and faceting on beside the key: the agency level and the period kind.
FILTER_COLUMNS = ("agency_level", "period", "geography", "agency_code", "period_start")


def sqlite_type(kind: pa.DataType) -> str:
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        return "INTEGER"
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "REAL"
    return "TEXT"


def _value(value):
    """A Python value as SQLite stores it: dates and times as ISO 8601 text, decimals as REAL."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal):
        return float(value)
    return value


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def create_table_sql(name: str, schema: pa.Schema, key: list[str]) -> str:
    columns = [f"{_quote(f.name)} {sqlite_type(f.type)}" for f in schema]
    if key:
        columns.append(f"PRIMARY KEY ({', '.join(_quote(k) for k in key)})")
    return f"CREATE TABLE {_quote(name)} ({', '.join(columns)})"


def write_database(tables: dict[str, tuple[pa.Table, list[str]]], path: Path) -> Path:
    """Write `tables` ({name: (arrow table, primary key)}) into a new SQLite file at `path`."""
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    try:
        for name, (table, key) in tables.items():
            con.execute(create_table_sql(name, table.schema, key))
            placeholders = ", ".join("?" for _ in table.column_names)
            rows = ([_value(v) for v in row.values()] for row in table.to_pylist())
            con.executemany(f"INSERT INTO {_quote(name)} VALUES ({placeholders})", rows)
            for column in dict.fromkeys([*key, *FILTER_COLUMNS]):
                if column in table.column_names:
                    con.execute(f"CREATE INDEX {_quote(f'{name}_{column}')} ON {_quote(name)} ({_quote(column)})")
        con.commit()
        con.execute("VACUUM")
    finally:
        con.close()
    return path

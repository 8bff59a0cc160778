"""One table, four files: CSV (UTF-8, no BOM), CSV for Excel (with BOM), Parquet and JSON.

All four are written by DuckDB from one Arrow table, so they hold the same values: ISO 8601
dates, `.` as the decimal separator, codes as strings, a blank (CSV) or null (JSON, Parquet)
where a value is suppressed or not applicable.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Format:
    suffix: str  # file name after the table name
    format: str  # Frictionless `format`
    mediatype: str
    eu_file_type: str  # EU file-type authority code, for DCAT
    title: str


CSV = Format(".csv", "csv", "text/csv", "CSV", "CSV (UTF-8)")
EXCEL_CSV = Format(".excel.csv", "csv", "text/csv", "CSV", "CSV for Excel (UTF-8 with BOM)")
PARQUET = Format(".parquet", "parquet", "application/vnd.apache.parquet", "PARQUET", "Parquet")
JSON = Format(".json", "json", "application/json", "JSON", "JSON (array of records)")
FORMATS = (CSV, EXCEL_CSV, PARQUET, JSON)


def to_arrow(frame: pd.DataFrame, base: pa.Schema) -> pa.Table:
    """The frame with the warehouse's types for its own columns; added text columns as `string`."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = [
        base.field(f.name) if f.name in base.names
        else pa.field(f.name, pa.string()) if pa.types.is_large_string(f.type) else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields))


def write_formats(table: pa.Table, folder: Path, name: str) -> dict[Format, Path]:
    """Write `name` in every format into `folder`; returns the path of each."""
    paths = {fmt: folder / f"{name}{fmt.suffix}" for fmt in FORMATS}
    with duckdb.connect() as con:
        con.register("published", table)
        con.execute(
            f"copy published to '{paths[CSV]}' "
            "(header, delimiter ',', quote '\"', dateformat '%Y-%m-%d', timestampformat '%Y-%m-%dT%H:%M:%S')"
        )
        con.execute(f"copy published to '{paths[PARQUET]}' (format parquet, compression zstd)")
        con.execute(f"copy published to '{paths[JSON]}' (format json, array true, dateformat '%Y-%m-%d')")
    paths[EXCEL_CSV].write_bytes(BOM + paths[CSV].read_bytes())
    return paths

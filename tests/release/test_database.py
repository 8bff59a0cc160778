"""The SQLite companion holds each table's values as the other formats do (module docstring of
pipelines/lib/release/database.py), whatever Arrow type a column has."""

import sqlite3
from datetime import date, datetime
from decimal import Decimal

import pyarrow as pa

from pipelines.lib.release.database import write_database
from pipelines.settings import TIMEZONE


def test_the_database_stores_iso_dates_integer_booleans_real_decimals_and_nulls(tmp_path):
    moment = datetime(2025, 7, 1, 8, 30, tzinfo=TIMEZONE)
    table = pa.table({
        "agency_code": pa.array(["000.00.00.H01", "000.00.00.H02", None]),
        "day": pa.array([date(2025, 6, 30), None, date(2025, 7, 1)], pa.date32()),
        "stocks_complete": pa.array([True, False, None]),
        "received_total": pa.array([12, None, 0], pa.int64()),
        "points_possible": pa.array([Decimal(40), None, Decimal(35)], pa.decimal128(38, 0)),
        "online_dossier_rate": pa.array([0.25, None, 1 / 3]),
        "loaded_at": pa.array([moment, None, moment], pa.timestamp("us", tz="Asia/Ho_Chi_Minh")),
    })
    path = write_database({"kpi_example": (table, ["agency_code", "day"])}, tmp_path / "example.sqlite")
    with sqlite3.connect(path) as con:
        rows = con.execute("select *, typeof(points_possible), typeof(stocks_complete) from kpi_example order by rowid").fetchall()
    assert rows == [
        ("000.00.00.H01", "2025-06-30", 1, 12, 40.0, 0.25, moment.isoformat(), "real", "integer"),
        ("000.00.00.H02", None, 0, None, None, None, None, "null", "integer"),
        (None, "2025-07-01", None, 0, 35.0, 1 / 3, moment.isoformat(), "real", "null"),
    ]

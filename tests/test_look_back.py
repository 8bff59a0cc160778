"""Which days a run or a backfill pulls before its first, so that the first day's open stock is
known: the look-back's days not held yet by some agency reporting then (pipelines/lib/agency_days.py)."""

from datetime import date, timedelta

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.lib import paths
from pipelines.lib.agency_days import date_range, look_back
from pipelines.lib.reference import AGENCY_SCHEMA, STOCK_LOOKBACK_DAYS

FIRST = date(2025, 7, 10)


def agency(code: str, valid_from: date | None = None) -> dict:
    return {"agency_code": code, "name_vi": code, "name_en": code, "agency_level": "province",
            "gso_province_code": None, "valid_from": valid_from, "valid_to": None, "successor_code": None}


def hold(code: str, day: date) -> None:
    target = paths.partition_path(paths.validated_partitions_root(), day, code, paths.PARTITION_FILE)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"")


def test_before_the_registry_is_landed_the_whole_look_back_is_pulled(tmp_path, monkeypatch):
    monkeypatch.setenv("EGOV_DATA_DIR", str(tmp_path))
    assert look_back([FIRST]) == date_range(FIRST - timedelta(days=STOCK_LOOKBACK_DAYS), FIRST - timedelta(days=1))
    assert look_back([FIRST], lookback_days=0) == []


def test_only_the_days_some_agency_lacks_are_pulled_and_only_the_days_it_existed(tmp_path, monkeypatch):
    monkeypatch.setenv("EGOV_DATA_DIR", str(tmp_path))
    new = FIRST - timedelta(days=5)  # a province created five days before the first day
    paths.agencies_file().parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist([agency("H01"), agency("H99", new)], schema=AGENCY_SCHEMA), paths.agencies_file())
    for day in date_range(FIRST - timedelta(days=10), FIRST - timedelta(days=1)):
        hold("H01", day)
    for day in date_range(new, FIRST - timedelta(days=2)):
        hold("H99", day)
    # H01 lacks everything before FIRST − 10; H99 lacks only the day before FIRST.
    expected = date_range(FIRST - timedelta(days=STOCK_LOOKBACK_DAYS), FIRST - timedelta(days=11)) + [FIRST - timedelta(days=1)]
    assert look_back([FIRST, FIRST + timedelta(days=1)], lookback_days=STOCK_LOOKBACK_DAYS) == expected
    # For H99 alone: only its missing day, none from before it existed.
    assert look_back([FIRST], ["H99"]) == [FIRST - timedelta(days=1)]

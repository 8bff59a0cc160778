"""The decisions validation takes, as pure functions: volume bounds, the quarantine share that
blocks, and what the gate publishes."""

from datetime import date, datetime

import pyarrow as pa
import pytest

from pipelines.lib.landing import partition_path, write_parquet_atomic
from pipelines.lib.payload import QUARANTINE_SCHEMA
from pipelines.lib.validation import (
    BLOCK_SHARE_ENV,
    VOLUME_MIN_WEEKS,
    block_share,
    published_manifest,
    read_validation_quarantine,
    reconciles,
    same_weekdays,
    too_many_quarantined,
    volume_bounds,
    volume_histories,
    without_quarantined,
    write_validation_quarantine,
)

MANIFEST_SCHEMA = pa.schema([("agency_code", pa.string()), ("day", pa.date32()), ("source_total", pa.int64()),
                             ("landed", pa.int64()), ("quarantined", pa.int64()), ("duplicates", pa.int64()),
                             ("content_sha256", pa.string())])


def test_no_volume_bounds_until_enough_history():
    assert volume_bounds([100] * (VOLUME_MIN_WEEKS - 1)) is None
    assert volume_bounds([100] * VOLUME_MIN_WEEKS) is not None


def test_volume_bounds_hold_ordinary_weeks_and_flag_a_collapse_or_a_surge():
    history = [1180, 1225, 1090, 1302, 1150, 1241]
    bounds = volume_bounds(history)
    assert all(bounds.low <= n <= bounds.high for n in history)
    assert bounds.low <= 1000 <= bounds.high  # a 15 % dip is ordinary
    assert 120 < bounds.low and bounds.high < 2400  # a 90 % collapse or a doubling is not
    assert bounds.weeks == len(history) and bounds.median == 1202.5


def test_a_quiet_series_keeps_a_floor_around_it():
    bounds = volume_bounds([0, 0, 1, 0, 2])
    assert bounds.low == 0 and bounds.high >= 10


def test_same_weekdays_go_back_whole_weeks():
    days = same_weekdays(date(2025, 3, 4), weeks=3)
    assert days == [date(2025, 2, 25), date(2025, 2, 18), date(2025, 2, 11)]


def test_volume_history_reads_the_validated_manifests_that_exist(tmp_path):
    for day, total in ((date(2025, 2, 25), 120), (date(2025, 2, 11), 90), (date(2025, 2, 26), 5000)):
        write_parquet_atomic([{"agency_code": "A", "day": day, "source_total": total, "landed": total, "quarantined": 0,
                               "duplicates": 0, "content_sha256": "x"}], MANIFEST_SCHEMA,
                             partition_path(tmp_path, day, "A", "partition.parquet"))
    keys = [("A", date(2025, 3, 4)), ("B", date(2025, 3, 4)), ("A", date(2025, 3, 5))]
    assert volume_histories(tmp_path, keys, "partition.parquet") == [[120, 90], [], [5000]]


def test_one_bad_record_never_blocks_alone_but_a_share_does():
    assert not too_many_quarantined(1, 10, 0.05)
    assert too_many_quarantined(2, 10, 0.05)
    assert not too_many_quarantined(50, 1000, 0.05) and too_many_quarantined(51, 1000, 0.05)


def test_block_share_from_the_environment(monkeypatch):
    monkeypatch.delenv(BLOCK_SHARE_ENV, raising=False)
    assert block_share() == 0.05
    monkeypatch.setenv(BLOCK_SHARE_ENV, "0.2")
    assert block_share() == 0.2
    monkeypatch.setenv(BLOCK_SHARE_ENV, "20%")
    with pytest.raises(ValueError, match=f"{BLOCK_SHARE_ENV}='20%': set a share between 0 and 1"):
        block_share()


def test_the_gate_leaves_out_exactly_the_quarantined_versions_and_the_counts_reconcile(tmp_path):
    t = datetime(2025, 3, 4, 9, 0)
    landed = pa.table({
        "dossier_code": ["A-250304-0001", "A-250304-0001", "A-250304-0002", "A-250304-0003"],
        "updated_at": pa.array([t, t.replace(hour=10), t, t], pa.timestamp("s")),
        "status": pa.array([2, 11, 4, 9], pa.int16()),
    })
    quarantined = [{"agency_code": "A", "day": date(2025, 3, 4), "dossier_code": "A-250304-0001", "stage": "validation",
                    "reason": "expect_column_values_to_be_in_set on status: 11",
                    "record": '{"dossier_code": "A-250304-0001", "updated_at": "2025-03-04 10:00:00", "status": 11}'}]
    path = tmp_path / "validation.parquet"
    write_validation_quarantine(quarantined, path, landed_sha256="abc", blocked=False)
    judged = read_validation_quarantine(path)
    assert judged.landed_sha256 == "abc" and not judged.blocked
    kept = without_quarantined(landed, judged.table)
    assert kept.column("status").to_pylist() == [2, 4, 9]

    manifest = pa.Table.from_pylist([{"agency_code": "A", "day": date(2025, 3, 4), "source_total": 6, "landed": 4,
                                      "quarantined": 3, "duplicates": 1, "content_sha256": "abc"}], schema=MANIFEST_SCHEMA)
    published = published_manifest(manifest, removed=1, content_sha256="def").to_pylist()[0]
    assert (published["landed"], published["quarantined"], published["content_sha256"]) == (3, 4, "def")
    assert reconciles(published) and not reconciles({**published, "landed": 2})


def test_a_blocked_verdict_and_a_missing_one_read_back(tmp_path):
    path = tmp_path / "validation.parquet"
    assert read_validation_quarantine(path) is None
    write_validation_quarantine([], path, landed_sha256="abc", blocked=True)
    judged = read_validation_quarantine(path)
    assert judged.blocked and judged.table.schema.equals(QUARANTINE_SCHEMA, check_metadata=False)

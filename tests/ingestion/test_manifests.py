"""The memo of landed manifests answers as a full read would, whatever changed since it was written."""

from __future__ import annotations

import os
from datetime import date

from pipelines.lib.ingest import PARTITION_SCHEMA
from pipelines.lib.landing import partition_path, write_parquet_atomic
from pipelines.lib.manifests import manifest_rows, memo_file

NAME = "partition.parquet"


def land(root, code: str, day: date, total: int) -> None:
    row = {f.name: None for f in PARTITION_SCHEMA}
    write_parquet_atomic([{**row, "agency_code": code, "day": day, "source_total": total}], PARTITION_SCHEMA,
                         partition_path(root, day, code, NAME))


def test_memo_follows_new_rewritten_and_removed_manifests(tmp_path):
    root = tmp_path / "raw" / "dossiers"
    assert manifest_rows(root, NAME) == [] and not memo_file(root).exists()
    land(root, "000.00.01.H01", date(2025, 1, 1), 3)
    land(root, "000.00.01.H02", date(2025, 1, 1), 0)
    first = manifest_rows(root, NAME)
    assert first == [("000.00.01.H01", date(2025, 1, 1), 3), ("000.00.01.H02", date(2025, 1, 1), 0)]
    written = memo_file(root).stat().st_mtime_ns
    assert manifest_rows(root, NAME) == first and memo_file(root).stat().st_mtime_ns == written  # nothing new: not rewritten

    land(root, "000.00.01.H01", date(2025, 1, 1), 5)  # a re-landing: same path, new file
    land(root, "000.00.01.H01", date(2025, 1, 2), 7)
    partition_path(root, date(2025, 1, 1), "000.00.01.H02", NAME).unlink()
    assert manifest_rows(root, NAME) == [("000.00.01.H01", date(2025, 1, 1), 5), ("000.00.01.H01", date(2025, 1, 2), 7)]

    # The memo holds what the files hold: read without it, the same rows.
    os.unlink(memo_file(root))
    assert manifest_rows(root, NAME) == [("000.00.01.H01", date(2025, 1, 1), 5), ("000.00.01.H01", date(2025, 1, 2), 7)]

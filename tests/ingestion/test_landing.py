"""Landing files page by page: the bytes do not depend on the pages, and a failure lands nothing."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.lib.landing import parquet_sink

SCHEMA = pa.schema([("dossier_code", pa.string()), ("fee_amount_vnd", pa.int64())])
ROWS = [{"dossier_code": f"G01-{i:06d}", "fee_amount_vnd": i * 1000} for i in range(2500)]


def _land(path, pages, row_group_rows=1000):
    with parquet_sink(path, SCHEMA, row_group_rows) as sink:
        for page in pages:
            sink.append(pa.Table.from_pylist(page, schema=SCHEMA))
    return path.read_bytes()


def test_the_same_rows_give_the_same_bytes_however_the_pages_were_cut(tmp_path):
    one_page = _land(tmp_path / "a.parquet", [ROWS])
    uneven = _land(tmp_path / "b.parquet", [ROWS[:7], ROWS[7:1999], [], ROWS[1999:2400], ROWS[2400:]])
    assert one_page == uneven
    meta = pq.ParquetFile(tmp_path / "a.parquet").metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [1000, 1000, 500]
    assert pq.read_table(tmp_path / "a.parquet").to_pylist() == ROWS


def test_an_empty_window_lands_an_empty_file_with_the_schema(tmp_path):
    _land(tmp_path / "empty.parquet", [])
    table = pq.read_table(tmp_path / "empty.parquet")
    assert table.num_rows == 0 and table.schema == SCHEMA


def test_a_failure_midway_lands_nothing_and_keeps_the_previous_file(tmp_path):
    path = tmp_path / "dossiers.parquet"
    before = _land(path, [ROWS[:10]])
    with pytest.raises(RuntimeError, match="reconciliation"):
        with parquet_sink(path, SCHEMA, 1000) as sink:
            sink.append(pa.Table.from_pylist(ROWS, schema=SCHEMA))
            raise RuntimeError("reconciliation failed")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dossiers.parquet"]

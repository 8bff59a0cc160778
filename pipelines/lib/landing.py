"""Write files so that a reader never sees half of one, and a rerun replaces, never appends."""

from __future__ import annotations

import hashlib
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq


def partition_path(root: Path, day, agency_code: str, name: str) -> Path:
    """`<root>/date=YYYY-MM-DD/agency=<code>/<name>`: one file per agency-day."""
    return root / f"date={day.isoformat()}" / f"agency={agency_code}" / name


def remove_stale_temporaries(folder: Path) -> None:
    """Temporary files a killed writer left behind; a rerun starts from a clean folder."""
    if folder.is_dir():
        for stale in folder.glob(".*.tmp"):
            stale.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside `path`, renamed onto it when the block succeeds, removed if not."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def publish_by_link(source: Path, target: Path) -> None:
    """Publish an existing file at `target` by hard link (no copy) and an atomic rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.link")
    staging.unlink(missing_ok=True)
    os.link(source, staging)
    os.replace(staging, target)


def write_parquet_atomic(rows: list[dict], schema: pa.Schema, path: Path) -> int:
    """Write rows as Parquet via a temporary file and an atomic rename; returns bytes written.

    The same rows give the same bytes (no timestamps or random ids in the file), so a rerun of
    a partition leaves an identical file.
    """
    return write_table_atomic(pa.Table.from_pylist(rows, schema=schema), path)


def write_table_atomic(table: pa.Table, path: Path) -> int:
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return path.stat().st_size


def write_bytes_atomic(data: bytes, path: Path) -> int:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return len(data)


class ParquetSink:
    """Rows appended page by page to one Parquet file, so a large agency-day is never whole in memory.

    Pages are kept as Arrow batches (compact) until a row group's worth has arrived; the same
    rows appended in the same order give the same bytes, however they were split into pages.
    """

    def __init__(self, path: Path, schema: pa.Schema, row_group_rows: int = 65_536):
        self.schema = schema
        self.row_group_rows = row_group_rows
        self.rows = 0
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._writer = pq.ParquetWriter(path, schema, compression="zstd")

    def append(self, rows: list[dict]) -> None:
        if not rows:
            return
        self._pending.append(pa.RecordBatch.from_pylist(rows, schema=self.schema))
        self._pending_rows += len(rows)
        self.rows += len(rows)
        while self._pending_rows >= self.row_group_rows:
            self._flush(self.row_group_rows)

    def _flush(self, limit: int) -> None:
        table = pa.Table.from_batches(self._pending, schema=self.schema)
        # One contiguous chunk per row group: the bytes never depend on where pages were cut.
        self._writer.write_table(table.slice(0, limit).combine_chunks(), row_group_size=limit)
        rest = table.slice(limit)
        self._pending = rest.to_batches()
        self._pending_rows = rest.num_rows

    def close(self) -> None:
        if self._pending_rows:
            self._flush(self._pending_rows)
        self._writer.close()


@contextmanager
def parquet_sink(path: Path, schema: pa.Schema, row_group_rows: int = 65_536) -> Iterator[ParquetSink]:
    """A ParquetSink that lands at `path` atomically when the block succeeds, and not at all if not."""
    with atomic_path(path) as tmp:
        sink = ParquetSink(tmp, schema, row_group_rows)
        try:
            yield sink
        finally:
            sink.close()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()

"""Write files so that a reader never sees half of one, and a rerun replaces, never appends.

Temporary and staging files are named for their writer (`.<name>.<pid>.<random>.tmp` or
`.link`), so two writers in one folder never touch each other's, and one is removed only when
it is provably abandoned: its writer's process is gone, or it is older than a day.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.lib.processes import is_running

# A temporary file older than this is abandoned whoever wrote it (a pid on another machine,
# or one the system has reused): no agency-day or build writes one file for a day.
STALE_AFTER_SECONDS = 24 * 3600
TEMPORARY_SUFFIXES = (".tmp", ".link")


def partition_path(root: Path, day, agency_code: str, name: str) -> Path:
    """`<root>/date=YYYY-MM-DD/agency=<code>/<name>`: one file per agency-day."""
    return root / f"date={day.isoformat()}" / f"agency={agency_code}" / name


def partition_files(root: Path | str, name: str) -> list[tuple[str, str, str, os.stat_result]]:
    """(path, agency code, ISO day, stat) of every `<root>/date=*/agency=*/<name>`, sorted by
    path: os.scandir and one stat a file. pathlib's glob took about 1 s over a year's 29,000
    agency-days, three times as long."""
    found = []
    try:
        days = [d for d in os.scandir(root) if d.name.startswith("date=") and d.is_dir()]
    except FileNotFoundError:
        return found
    for day in days:
        for agency in os.scandir(day.path):
            if not agency.name.startswith("agency="):
                continue
            path = f"{root}/{day.name}/{agency.name}/{name}"
            try:
                stat = os.stat(path)
            except (FileNotFoundError, NotADirectoryError):
                continue  # not an agency-day folder, or one being removed
            found.append((path, agency.name.removeprefix("agency="), day.name.removeprefix("date="), stat))
    return sorted(found, key=lambda f: f[0])


def writer_of(temporary: Path) -> int | None:
    """The pid in a temporary file's name, None for a name without one."""
    stem = temporary.name.rsplit(".", 1)[0]
    parts = stem.rsplit(".", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def is_abandoned(temporary: Path, now: float | None = None) -> bool:
    """Its writer is no longer running, or it is older than STALE_AFTER_SECONDS."""
    try:
        modified = temporary.stat().st_mtime
    except FileNotFoundError:
        return False
    if (now or time.time()) - modified > STALE_AFTER_SECONDS:
        return True
    pid = writer_of(temporary)
    return pid is not None and not is_running(pid, since=modified)


def remove_stale_temporaries(folder: Path) -> None:
    """Temporary and staging files that killed writers left behind; never another live writer's."""
    if folder.is_dir():
        for suffix in TEMPORARY_SUFFIXES:
            for candidate in folder.glob(f".*{suffix}"):
                if is_abandoned(candidate):
                    candidate.unlink(missing_ok=True)


PUBLISHED_MODE = 0o644


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside `path`, renamed onto it when the block succeeds, removed if not."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp makes it 0600: the data directory is read by others too (web servers, readers).
        os.chmod(tmp, PUBLISHED_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def publish_by_link(source: Path, target: Path) -> None:
    """Publish an existing file at `target` by hard link (no copy) and an atomic rename,
    through a staging link of this writer's own (removed if the rename fails)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target.parent)
    staging = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.link")
    os.link(source, staging)
    try:
        os.replace(staging, target)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise


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

    def append(self, rows: pa.Table) -> None:
        if not rows.num_rows:
            return
        self._pending.extend(rows.cast(self.schema).to_batches())
        self._pending_rows += rows.num_rows
        self.rows += rows.num_rows
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


def read_parquet(path: Path, columns: list[str] | None = None) -> pa.Table:
    """One Parquet file, read without pyarrow's dataset machinery (`pq.read_table`), which costs
    about 2 ms a file: a run reads several small files for each of thousands of agency-days."""
    return pq.ParquetFile(path).read(columns=columns)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()

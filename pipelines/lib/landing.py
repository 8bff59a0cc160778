"""Write files so that a reader never sees half of one, and a rerun replaces, never appends."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

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


def write_parquet_atomic(rows: list[dict], schema: pa.Schema, path: Path) -> int:
    """Write rows as Parquet via a temporary file and an atomic rename; returns bytes written.

    The same rows give the same bytes (no timestamps or random ids in the file), so a rerun of
    a partition leaves an identical file.
    """
    table = pa.Table.from_pylist(rows, schema=schema)
    return write_table_atomic(table, path)


def write_table_atomic(table: pa.Table, path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path.stat().st_size


def write_bytes_atomic(data: bytes, path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(data)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()

"""One ingestion run at a time per day: file locks under the data directory.

A backfill and a schedule may both cover a day. Each run locks its days (in date order, so two
runs never wait on each other crosswise) for as long as it runs; a second run covering a day
waits until the first has finished it, then pulls it again: the later pull is what stands,
validated as any other. `flock` locks end with their process, so a killed run leaves none.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from datetime import date
from typing import Iterator

from pipelines.settings import data_dir


def lock_dir():
    return data_dir() / "locks" / "days"


@contextmanager
def days_locked(days: list[date]) -> Iterator[None]:
    """Hold the lock of every day in `days` (waiting for other runs that hold one)."""
    folder = lock_dir()
    folder.mkdir(parents=True, exist_ok=True)
    handles = []
    try:
        for day in sorted(set(days)):
            fd = os.open(folder / f"{day.isoformat()}.lock", os.O_RDWR | os.O_CREAT, 0o644)
            handles.append(fd)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        for fd in handles:
            os.close(fd)  # closing releases the lock

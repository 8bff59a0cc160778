"""One writer per data directory: an advisory lock that `python -m pipelines run` and
`backfill` hold for their whole run.

Two runs on one data directory would delete each other's temporary files and fight over the
DuckDB file. The lock is `flock` on `<data dir>/.writer.lock`: the kernel releases it when the
holder's process ends, however it ends (SIGKILL included), so it is never left stuck. The file
says who holds it (pid, command, since when) for the message a second run prints. It is
never deleted: a lock file removed while another process waits on it would let two in.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

LOCK_FILE = ".writer.lock"
WAIT_ENV = "EGOV_WRITER_LOCK_WAIT_SECONDS"
POLL_SECONDS = 0.2


class DataDirectoryBusy(RuntimeError):
    """Another run holds the data directory; the message names it and says what to do."""


def wait_seconds_from_env() -> float:
    """How long a second run waits for the first: EGOV_WRITER_LOCK_WAIT_SECONDS, default 0 (refuse at once)."""
    raw = os.environ.get(WAIT_ENV) or "0"
    try:
        return float(raw)
    except ValueError:
        raise DataDirectoryBusy(f"{WAIT_ENV}={raw!r} is not a number of seconds; fix or unset it") from None


def holder(data_dir: Path) -> dict:
    """Who holds (or last held) the lock, as it wrote itself into the file; {} if unknown."""
    try:
        return json.loads((data_dir / LOCK_FILE).read_text(encoding="utf-8") or "{}")
    except (FileNotFoundError, ValueError):
        return {}


def describe(who: dict) -> str:
    if not who:
        return "another process (it has not said which yet)"
    return f"pid {who.get('pid')} (`{who.get('command')}`, since {who.get('since')})"


@contextmanager
def writer_lock(
    data_dir: Path,
    command: str | None = None,
    wait_seconds: float | None = None,
    say: Callable[[str], None] = lambda message: print(message, file=sys.stderr, flush=True),
) -> Iterator[None]:
    """Hold the data directory's writer lock for the block: wait up to `wait_seconds` (default
    from the environment) for another holder, then refuse with DataDirectoryBusy."""
    wait = wait_seconds_from_env() if wait_seconds is None else wait_seconds
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by children
    try:
        deadline = time.monotonic() + wait
        said = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                who = describe(holder(data_dir))
                if time.monotonic() >= deadline:
                    raise DataDirectoryBusy(
                        f"data directory {data_dir} is in use by {who}; this run was not started. Wait for that run "
                        f"to finish (or stop it), or set {WAIT_ENV}=N to wait up to N seconds "
                        "(docs/operations.md, 'One writer per data directory')."
                    ) from None
                if not said:
                    say(f"data directory {data_dir} is in use by {who}; waiting up to {wait:g} s for it to finish")
                    said = True
                time.sleep(POLL_SECONDS)
        me = {"pid": os.getpid(), "command": command or " ".join(sys.orig_argv),
              "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the lock

"""One writer per data directory, at the level of the lock and the files: a second writer waits
or is refused by name, a killed holder leaves nothing stuck, and no writer removes a temporary
or staging file another live writer is using."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.lib.landing import STALE_AFTER_SECONDS, atomic_path, publish_by_link, remove_stale_temporaries
from pipelines.lib.writer_lock import DataDirectoryBusy, holder, writer_lock

REPO = Path(__file__).resolve().parents[2]
# Generous bounds: they only catch a lock that never comes free, not a slow machine.
BOUND_SECONDS = 60


def hold(data_dir: Path, seconds: float, ready: Path) -> subprocess.Popen:
    """Another process that takes the lock, says so through `ready`, holds it for `seconds`, and
    touches `ready`.done just before it lets go."""
    code = (
        "import sys, time; from pathlib import Path; from pipelines.lib.writer_lock import writer_lock\n"
        f"with writer_lock(Path({str(data_dir)!r}), 'holder --for-the-test'):\n"
        f"    Path({str(ready)!r}).touch(); time.sleep({seconds}); Path({str(ready) + '.done'!r}).touch()\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    deadline = time.monotonic() + BOUND_SECONDS
    while not ready.exists():
        assert process.poll() is None and time.monotonic() < deadline, "the holder did not take the lock"
        time.sleep(0.05)
    return process


def test_a_second_writer_is_refused_naming_the_holder(tmp_path):
    other = hold(tmp_path, 600, tmp_path / "ready")
    try:
        with pytest.raises(DataDirectoryBusy) as refused:
            with writer_lock(tmp_path, "second", wait_seconds=0):
                pytest.fail("two writers held the lock")
        message = str(refused.value)
        assert f"pid {other.pid} (`holder --for-the-test`" in message and "EGOV_WRITER_LOCK_WAIT_SECONDS" in message
    finally:
        other.kill()
        other.wait()


def test_a_second_writer_waits_for_the_first_then_holds_the_lock(tmp_path):
    said = []
    other = hold(tmp_path, 2, tmp_path / "ready")
    with writer_lock(tmp_path, "second", wait_seconds=BOUND_SECONDS, say=said.append):
        # (the holder's process may not have exited yet: its hold has ended, which is what counts)
        assert (tmp_path / "ready.done").exists(), "the lock was taken while the first writer still held it"
        assert holder(tmp_path)["pid"] == os.getpid()
    other.wait()
    assert len(said) == 1 and f"pid {other.pid}" in said[0] and f"waiting up to {BOUND_SECONDS} s" in said[0]


def test_a_killed_holder_leaves_the_lock_free(tmp_path):
    other = hold(tmp_path, 600, tmp_path / "ready")
    os.kill(other.pid, signal.SIGKILL)
    other.wait()
    started = time.monotonic()
    with writer_lock(tmp_path, "after the kill", wait_seconds=0):
        pass
    assert time.monotonic() - started < BOUND_SECONDS


def test_a_live_writers_temporary_files_are_kept_and_abandoned_ones_removed(tmp_path):
    other = hold(tmp_path, 600, tmp_path / "ready")
    try:
        live = tmp_path / f".dossiers.parquet.{other.pid}.abcd1234.tmp"
        live_link = tmp_path / f".dossiers.parquet.{other.pid}.0a1b2c3d.link"
        gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
        dead = tmp_path / f".dossiers.parquet.{int(gone.stdout)}.abcd1234.tmp"
        old = tmp_path / ".quarantine.parquet.k2j3h4g5.tmp"  # a name without a pid (an older writer)
        for path in (live, live_link, dead, old):
            path.write_bytes(b"x")
        os.utime(old, (time.time() - STALE_AFTER_SECONDS - 60,) * 2)
        remove_stale_temporaries(tmp_path)
        assert sorted(p.name for p in tmp_path.glob(".*.*")) == sorted([live.name, live_link.name, ".writer.lock"])
    finally:
        other.kill()
        other.wait()


def test_temporary_files_carry_their_writers_pid(tmp_path):
    with atomic_path(tmp_path / "dossiers.parquet") as tmp:
        assert tmp.name.startswith(f".dossiers.parquet.{os.getpid()}.") and tmp.name.endswith(".tmp")
        tmp.write_bytes(b"x")
        remove_stale_temporaries(tmp_path)  # this writer is alive: kept
        assert tmp.exists()


def test_a_failed_publish_leaves_no_staging_link(tmp_path):
    source = tmp_path / "landed.parquet"
    source.write_bytes(b"x")
    target = tmp_path / "validated" / "dossiers.parquet"
    target.mkdir(parents=True)  # a directory where the file should go: the rename fails
    with pytest.raises(OSError):
        publish_by_link(source, target)
    assert [p.name for p in target.parent.iterdir()] == ["dossiers.parquet"]
    target.rmdir()
    publish_by_link(source, target)
    assert os.path.samefile(source, target) and [p.name for p in target.parent.iterdir()] == ["dossiers.parquet"]

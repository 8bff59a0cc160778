"""A consumer reading `latest` while new releases are published never sees two versions mixed,
nor a half-written release."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from datetime import datetime, timedelta

import duckdb

from pipelines.lib.release.build import publish_release
from pipelines.settings import DBT_PROJECT_DIR, TIMEZONE

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"


def read_snapshot(latest) -> str:
    """Open `latest` once, as a consumer should, and read every file of it through that handle;
    returns the version, after checking that every file belongs to it."""
    folder = os.open(latest, os.O_RDONLY | os.O_DIRECTORY)
    try:
        def read(name: str) -> bytes:
            fd = os.open(name, os.O_RDONLY, dir_fd=folder)
            with os.fdopen(fd, "rb") as fh:
                return fh.read()

        package = json.loads(read("datapackage.json"))
        sums = dict(reversed(line.split("  ")) for line in read("SHA256SUMS").decode().splitlines())
        for resource in package["resources"]:
            data = read(resource["path"])
            assert resource["hash"] == f"sha256:{hashlib.sha256(data).hexdigest()}", resource["path"]
            assert sums[resource["path"]] == resource["hash"].removeprefix("sha256:")
        assert sums["datapackage.json"] == hashlib.sha256(json.dumps(package, ensure_ascii=False, indent=2).encode()).hexdigest()
        changelog = read("CHANGELOG.md").decode()
        assert changelog.split("## ", 2)[1].startswith(package["version"])
        return package["version"]
    finally:
        os.close(folder)


def test_reader_never_sees_a_mix_while_releases_are_published(workspace):
    now = datetime(2025, 3, 5, 7, 0, tzinfo=TIMEZONE)
    publish_release(workspace.warehouse, workspace.open_dir, MANIFEST, now=now)
    latest = workspace.open_dir / "latest"
    seen, problems, stop = [], [], threading.Event()

    def reader():
        while not stop.is_set():
            try:
                seen.append(read_snapshot(latest))
            except Exception as error:  # recorded, then the test fails on it
                problems.append(repr(error))
            time.sleep(0.01)  # leave the publisher some of the interpreter

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for step in range(1, 3):
            with duckdb.connect(str(workspace.warehouse)) as con:
                con.execute(f"update kpi_processed_records set refused = refused + {step} "
                            "where period = 'day' and geography = 'as_was' and agency_code <> 'VN'")
            outcome = publish_release(workspace.warehouse, workspace.open_dir, MANIFEST, now=now + timedelta(hours=step))
            assert outcome.version == f"1.0.{step}"
        deadline = time.monotonic() + 30
        while (not seen or seen[-1] != "1.0.2") and time.monotonic() < deadline and not problems:
            time.sleep(0.05)  # let the reader see the last release too
    finally:
        stop.set()
        thread.join()
    assert problems == []
    assert {"1.0.0", "1.0.2"} <= set(seen) and len(seen) > 10
    assert seen == sorted(seen, key=lambda v: tuple(map(int, v.split("."))))  # never back in time

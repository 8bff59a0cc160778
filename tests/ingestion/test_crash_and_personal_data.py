"""Ingestion killed with SIGKILL mid-way and started again ends where an uninterrupted run
ends; and nothing it leaves on disk or in the run logs holds an applicant's personal data."""

import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime, time as clock, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

DAYS = ["2025-10-07"]  # every ministry and province of today, one day
SEED, SCALE = "5", "0.01"
DRIVER = Path(__file__).with_name("ingest_driver.py")
REPO = Path(__file__).resolve().parents[2]


def run_driver(root: Path, log) -> subprocess.Popen:
    """The driver in a session of its own, so that one kill takes its workers down too."""
    for folder in ("data", "dagster"):
        (root / folder).mkdir(exist_ok=True)
    env = {**os.environ, "EGOV_DATA_DIR": str(root / "data"), "DAGSTER_HOME": str(root / "dagster"),
           "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, str(DRIVER), SEED, SCALE, *DAYS], env=env, cwd=REPO,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def landed_files(root: Path) -> dict[str, bytes]:
    data = root / "data"
    return {str(p.relative_to(data)): p.read_bytes()
            for folder in ("raw", "quarantine", "validated") for p in sorted((data / folder).rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    reference, crashed = tmp_path_factory.mktemp("reference"), tmp_path_factory.mktemp("crashed")
    with open(reference / "driver.log", "wb") as log:
        assert run_driver(reference, log).wait(timeout=600) == 0

    with open(crashed / "driver.log", "wb") as log:
        victim = run_driver(crashed, log)
        raw = crashed / "data" / "raw" / "dossiers"
        deadline = time.monotonic() + 300
        while len(list(raw.glob("*/*/dossiers.parquet"))) < 15 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(victim.pid, signal.SIGKILL)  # the driver, its workers: everything, at once
        victim.wait()
    killed_at = len(list(raw.glob("*/*/dossiers.parquet")))
    with open(crashed / "driver.log", "ab") as log:
        assert run_driver(crashed, log).wait(timeout=600) == 0
    return reference, crashed, killed_at


def test_a_killed_run_started_again_ends_like_an_uninterrupted_one(runs):
    reference, crashed, killed_at = runs
    expected = landed_files(reference)
    assert 15 <= killed_at < len([k for k in expected if k.startswith("raw/dossiers/")]) / 2, "killed mid-way"
    assert landed_files(crashed) == expected
    assert not list((crashed / "data").rglob("*.tmp")) and not list((crashed / "data").rglob(".*.link"))


def test_no_personal_data_on_disk_or_in_the_run_logs(runs, tmp_path):
    from simulator import Simulation

    reference, crashed, _ = runs
    sim = Simulation(seed=int(SEED), scale=float(SCALE), faults="none",
                     now=datetime.combine(date.fromisoformat(DAYS[-1]) + timedelta(days=1), clock.min))
    personal = set()
    for day in map(date.fromisoformat, DAYS):
        start = datetime.combine(day, clock.min)
        for code in sim.agency_codes(day):
            for item in sim.window(code, start, start + timedelta(days=1)):
                personal |= {str(item[f]) for f in ("ChuHoSo", "MaDoiTuong", "SoDienThoai", "Email", "DiaChi") if item.get(f)}
    assert len(personal) > 1000

    patterns = tmp_path / "personal.txt"
    patterns.write_text("\n".join(sorted(personal)), encoding="utf-8")
    for root in (reference, crashed):
        text = root / "everything.txt"
        with open(text, "w", encoding="utf-8") as out:
            for path in sorted(root.rglob("*")):
                if not path.is_file() or path == text:
                    continue
                if path.suffix == ".parquet":  # compressed: read the values, not the bytes
                    out.write(str(pq.read_table(path).to_pylist()))
                elif path.suffix == ".duckdb":
                    with duckdb.connect(str(path), read_only=True) as con:
                        for (table,) in con.execute("select table_name from information_schema.tables").fetchall():
                            out.write(str(con.execute(f'select * from "{table}"').fetchall()))
                else:  # run and event logs (SQLite, compute logs), driver output
                    out.write(path.read_bytes().decode("utf-8", errors="ignore"))
                out.write("\n")
        assert text.stat().st_size > 100_000
        # grep -F matches thousands of fixed strings in one pass over the text.
        found = subprocess.run(["grep", "-o", "-F", "-f", str(patterns), str(text)], capture_output=True, text=True)
        assert found.returncode == 1, f"personal data found under {root}: {found.stdout.splitlines()[:5]}"
        run_logs = "\n".join(p.read_bytes().decode("utf-8", errors="ignore")
                             for p in (root / "dagster").rglob("*") if p.is_file())
        assert run_logs and not [t for t in sim.tokens().values() if t in run_logs], "an agency token reached the run logs"

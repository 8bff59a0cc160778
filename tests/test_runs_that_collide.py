"""Runs that collide and runs that die, through `python -m pipelines run` itself.

Run A is ingesting a day; run C, started beside it, is refused by name at once; run B, told to
wait, waits. A is killed with SIGKILL (it, its workers, its simulator): B then takes the data
directory, marks A's dead runs failed, and completes. No run is left STARTED or STARTING, no
temporary file is left, DuckDB reports no lock conflict. And, at the level of the instance, the
sweep fails a dead run and leaves a live one running, and one left STARTING by a dead launch.
"""

import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import dagster as dg
import pytest

from pipelines.settings import REPO_ROOT
from tests import helpers

# Two days, no look-back: the collision is the point, and A must still be running when it is
# killed (one day was seen to end first on a loaded machine).
RUN = [sys.executable, "-m", "pipelines", "run", "--days", "2", "--scale", "0.002", "--lookback-days", "0"]
# Generous: a run of a day at this scale takes about a minute here; the bounds only catch a hang.
BOUND_SECONDS = 900
wait_for = partial(helpers.wait_for, seconds=BOUND_SECONDS)
EXIT_BUSY = 75


def cli_env(data: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EGOV_", "DAGSTER_"))}
    return {**env, "EGOV_DATA_DIR": str(data), "EGOV_ALLOW_DEMO_KEY": "1", "PYTHONPATH": str(REPO_ROOT), **extra}


def start(data: Path, log: Path, **extra) -> subprocess.Popen:
    """The run command in a session of its own, so that one kill takes its daemon, runs and simulator too."""
    with open(log, "wb") as out:
        return subprocess.Popen(RUN, cwd=REPO_ROOT, env=cli_env(data, **extra), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def runs_by_status(data: Path) -> dict:
    os.environ["DAGSTER_HOME"] = str(data / "dagster")
    try:
        with dg.DagsterInstance.get() as instance:
            out: dict = {}
            for record in instance.get_run_records():
                out.setdefault(record.dagster_run.status, []).append(record.dagster_run.run_id)
            return out
    finally:
        del os.environ["DAGSTER_HOME"]


@pytest.fixture(scope="module")
def collision(tmp_path_factory):
    root = tmp_path_factory.mktemp("collide")
    data = root / "data"
    first = start(data, root / "a.log")
    raw = data / "raw" / "dossiers"
    wait_for(lambda: len(list(raw.glob("*/*/dossiers.parquet"))) >= 5, "run A to be ingesting", first)
    refused = subprocess.run(RUN, cwd=REPO_ROOT, env=cli_env(data), capture_output=True, text=True, timeout=BOUND_SECONDS)
    waiting = start(data, root / "b.log", EGOV_WRITER_LOCK_WAIT_SECONDS=str(BOUND_SECONDS))
    wait_for(lambda: "waiting up to" in (root / "b.log").read_text(errors="replace"), "run B to wait", waiting)
    # Killed while one of its runs is started (between two runs the kill would leave none behind).
    wait_for(lambda: runs_by_status(data).get(dg.DagsterRunStatus.STARTED), "a run of A to be started", first)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    # A run the daemon was launching at that moment stays STARTING: a ghost as well.
    at_kill = runs_by_status(data)
    ghosts = at_kill.get(dg.DagsterRunStatus.STARTED, []) + at_kill.get(dg.DagsterRunStatus.STARTING, [])
    assert waiting.wait(timeout=BOUND_SECONDS) == 0, (root / "b.log").read_text(errors="replace")[-4000:]
    return data, first, refused, (root / "b.log").read_text(errors="replace"), ghosts


def test_a_run_beside_another_is_refused_naming_it(collision):
    _data, first, refused, _b_log, _ghosts = collision
    assert refused.returncode == EXIT_BUSY, refused.stderr[-3000:]
    assert f"is in use by pid {first.pid} (`" in refused.stderr and "pipelines run --days 2" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_waiting_run_completes_once_the_killed_one_is_gone(collision):
    data, first, _refused, b_log, _ghosts = collision
    assert f"is in use by pid {first.pid}" in b_log and "Done in" in b_log
    assert (data / "open" / "latest" / "datapackage.json").exists()
    assert "Could not set lock" not in b_log and "IO Error" not in b_log  # DuckDB's lock conflict


def test_no_run_is_left_started_after_a_kill(collision):
    data, _first, _refused, b_log, ghosts = collision
    assert ghosts, "the kill left runs STARTED or STARTING (else this test shows nothing)"
    statuses = runs_by_status(data)
    assert dg.DagsterRunStatus.STARTED not in statuses and dg.DagsterRunStatus.STARTING not in statuses
    assert set(ghosts) <= set(statuses[dg.DagsterRunStatus.FAILURE])
    assert f"Marked {len(ghosts)} run(s) failed whose process had died" in b_log


def test_no_temporary_or_staging_file_is_left(collision):
    data, *_ = collision
    assert not [p for p in data.rglob(".*") if p.suffix in (".tmp", ".link")]


SLEEPER = """
import sys, time
import dagster as dg

@dg.asset
def slow():
    time.sleep(600)

job = dg.Definitions(assets=[slow], jobs=[dg.define_asset_job("sleeper", selection=[slow])]).resolve_job_def("sleeper")
with dg.DagsterInstance.get() as instance:
    job.execute_in_process(instance=instance)
"""


def test_the_sweep_fails_a_dead_in_process_run_and_leaves_a_live_one(tmp_path, monkeypatch):
    from pipelines.defs.run_hygiene import fail_dead_runs

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    # The instance's storage made first: two processes creating it at once were seen to race.
    dg.DagsterInstance.get().dispose()
    doomed, alive = (subprocess.Popen([sys.executable, "-c", SLEEPER], env=env, start_new_session=True) for _ in (1, 2))
    try:
        with dg.DagsterInstance.get() as instance:
            def started() -> list:
                return instance.get_run_records(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
            wait_for(lambda: len(started()) == 2, "both runs to start")
            os.killpg(doomed.pid, signal.SIGKILL)
            doomed.wait()
            failed = fail_dead_runs(instance)
            assert len(failed) == 1
            run = instance.get_run_by_id(failed[0])
            assert run.status == dg.DagsterRunStatus.FAILURE
            assert [r.dagster_run.run_id for r in started()] != failed and len(started()) == 1
            assert fail_dead_runs(instance) == []  # idempotent; the live run is never touched
            (message,) = [e.message for e in instance.all_logs(failed[0], of_type=dg.DagsterEventType.RUN_FAILURE)]
            assert f"(pid {doomed.pid}) is gone" in message
    finally:
        os.killpg(alive.pid, signal.SIGKILL)
        alive.wait()


def test_the_sweep_fails_a_run_left_starting_by_a_dead_launch(tmp_path, monkeypatch):
    """A kill while the daemon was launching leaves runs STARTING: failed when their worker is
    gone, or when none was started and no daemon is live to start one; left alone otherwise."""
    from dagster._core.events import DagsterEvent, DagsterEventType, EngineEventData
    from dagster._core.utils import make_new_run_id
    from dagster._daemon.types import DaemonHeartbeat

    from pipelines.defs.run_hygiene import fail_dead_runs

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    dead_worker = subprocess.Popen([sys.executable, "-c", "pass"])
    dead_worker.wait()
    with dg.DagsterInstance.get() as instance:
        def starting(worker: int | None) -> str:
            run = instance.add_run(dg.DagsterRun(job_name="ingest_job", run_id=make_new_run_id()))
            instance.report_dagster_event(DagsterEvent(DagsterEventType.RUN_STARTING.value, job_name=run.job_name),
                                          run_id=run.run_id)
            if worker is not None:
                instance.report_engine_event(f"Started process for run (pid: {worker}).", run,
                                             EngineEventData.in_process(worker))
            return run.run_id

        launched, alive, gone = starting(None), starting(os.getpid()), starting(dead_worker.pid)
        instance.add_daemon_heartbeat(DaemonHeartbeat(time.time(), "BACKFILL", None, None))
        assert fail_dead_runs(instance) == [gone]  # a daemon is live: it may still launch the first
        instance.wipe_daemon_heartbeats()
        assert fail_dead_runs(instance) == [launched]
        assert instance.get_run_by_id(alive).status == dg.DagsterRunStatus.STARTING
        (message,) = [e.message for e in instance.all_logs(launched, of_type=DagsterEventType.RUN_FAILURE)]
        assert "The daemon that was launching this run is gone" in message

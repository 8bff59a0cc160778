"""Runs that died are marked failed, so the Dagster UI never shows a ghost run.

A run whose process is killed (a run the daemon launched as a local process, or an in-process
run of the tests and the bench) stays STARTED in the instance, or STARTING when the kill came
while the daemon was launching it: nothing outside it knows it is gone. Dagster's run
monitoring does not help there: it only checks a run worker's health through a run launcher
that supports it, which the DefaultRunLauncher does not, so all it does is fail a run stuck
STARTING past `start_timeout_seconds` or running past `max_runtime_seconds`
(config/dagster.yaml), and only while a daemon runs. So the CLI, holding the data directory's
writer lock, sweeps: every STARTED or STARTING run of this machine whose process is gone is
reported failed. With another run launcher (pods, containers) runs are left to run monitoring
and run retries (docs/operations.md, 'One writer per data directory').
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from pipelines.lib.processes import is_running
from pipelines.lib.writer_lock import writer_lock
from pipelines.settings import data_dir


def run_process(instance: dg.DagsterInstance, run_id: str) -> tuple[int, float] | None:
    """The pid that runs the run and when it said so: its RUN_START event's, else (a run still
    STARTING) the run worker's pid its code server reported; None when neither was recorded."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_START, limit=1).records
    if records:
        return records[0].event_log_entry.dagster_event.pid, records[0].timestamp
    for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT).records:
        pid = record.event_log_entry.dagster_event.engine_event_data.metadata.get("pid")
        if pid is not None:  # "Started process for run (pid: N)."
            return int(pid.value), record.timestamp
    return None


def dead_runs(instance: dg.DagsterInstance) -> list[tuple[dg.DagsterRun, int | None]]:
    """STARTED or STARTING runs of this machine whose process is no longer running, with that
    pid: in-process runs, and runs the daemon launched as local processes (the
    DefaultRunLauncher's). A run STARTING with no process recorded is dead once no daemon is
    live to go on launching it (its pid is then None)."""
    from dagster._core.launcher import DefaultRunLauncher

    from pipelines.orchestration import daemon_is_live

    local_launcher = isinstance(instance.run_launcher, DefaultRunLauncher)
    launching = None  # asked once, and only when a run needs it
    dead = []
    statuses = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING]
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=statuses)):
        run = record.dagster_run
        if run.remote_job_origin is not None and not local_launcher:  # a remote launcher's and run monitoring's
            continue
        process = run_process(instance, run.run_id)
        if process is None:
            if run.status == dg.DagsterRunStatus.STARTING:
                launching = daemon_is_live(instance) if launching is None else launching
                if not launching:
                    dead.append((run, None))
        elif not is_running(process[0], since=process[1]):
            dead.append((run, process[0]))
    return dead


def fail_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark every run of `dead_runs` failed; returns their ids."""
    failed = []
    for run, pid in dead_runs(instance):
        process = f"The process that ran this run (pid {pid}) is gone" if pid else \
            "The daemon that was launching this run is gone"
        instance.report_run_failed(
            run, f"{process}: killed or crashed. Marked failed by the next `python -m pipelines` run; rerun its "
                 "partitions if they are still needed."
        )
        failed.append(run.run_id)
    return failed


@contextmanager
def sole_writer() -> Iterator[None]:
    """For a CLI command that writes the data directory: its writer lock, then the dead runs of
    the instance (DAGSTER_HOME) marked failed; the lock is held to the end of the block."""
    with writer_lock(data_dir()):
        with dg.DagsterInstance.get() as instance:
            failed = fail_dead_runs(instance)
        if failed:
            print(f"Marked {len(failed)} run(s) failed whose process had died: {', '.join(failed)}", file=sys.stderr)
        yield

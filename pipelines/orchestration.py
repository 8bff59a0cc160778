"""Run days through the Dagster instance as the UI does: one asset backfill, run by the daemon.

`make run` and `python -m pipelines backfill` submit the same asset backfill a data engineer
launches from the UI (ingest_job's assets over a range of days, the registry first when asked),
so the instance's queue, pools and limits apply, the backfill policy decides the runs (a run per
`DAYS_PER_RUN` days, every agency inside), and the `kpi_after_ingest` sensor rebuilds the KPIs
and publishes one release when the backfill has completed. A daemon is started for the
duration when none is running (the embedded instance); in production the deployment's daemon
takes the backfill.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import dagster as dg
from dagster._core.definitions.assets.graph.asset_graph_subset import AssetGraphSubset
from dagster._core.definitions.events import AssetKeyPartitionKey
from dagster._core.execution.backfill import BulkActionsFilter, BulkActionStatus, PartitionBackfill
from dagster._core.utils import make_new_backfill_id

from pipelines.defs.concurrency import apply_pool_limits
from pipelines.defs.partitions import AGENCIES_TAG
from pipelines.defs.schedules import BATCH_TAG
from pipelines.defs.sensors import BACKFILL_DONE, BACKFILL_TAG
from pipelines.lib import paths
from pipelines.lib.agency_days import agency_days, date_range
from pipelines.lib.processes import is_running
from pipelines.settings import REPO_ROOT

INGEST_ASSETS = ("procedure_catalogue", "raw_dossiers", "validated_dossiers", "validated_procedures",
                 "validated_partitions")
# A daemon whose heartbeat is younger than this is taken to be running.
LIVE_HEARTBEAT_SECONDS = 60
# Beside the instance: the pid of the daemon a CLI command started.
PID_FILE = "cli-daemon.pid"
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
# Work a daemon has taken on and would leave half done if stopped: runs it launched or will
# launch, backfills it is running.
IN_FLIGHT = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED,
             dg.DagsterRunStatus.CANCELING]
BACKFILLS_IN_FLIGHT = [BulkActionStatus.REQUESTED, BulkActionStatus.CANCELING]
# How long a CLI's daemon is given to finish that work before it is stopped regardless.
SETTLE_SECONDS = 2 * 3600


def backfill_subset(defs: dg.Definitions, days: list[date], with_registry: bool) -> AssetGraphSubset:
    """ingest_job's assets for `days` (and the agency registry first, when asked)."""
    targets = {AssetKeyPartitionKey(dg.AssetKey(name), day.isoformat()) for name in INGEST_ASSETS for day in days}
    if with_registry:
        targets.add(AssetKeyPartitionKey(dg.AssetKey("agency_registry"), None))
    return AssetGraphSubset.from_asset_partition_set(targets, defs.resolve_asset_graph())


def submit_backfill(instance: dg.DagsterInstance, defs: dg.Definitions, days: list[date], *,
                    agencies: list[str] | None = None, with_registry: bool = True, title: str = "") -> str:
    """Add the backfill to the instance (as the UI's "Launch backfill" does); returns its id."""
    tags = {AGENCIES_TAG: ",".join(agencies)} if agencies else {}
    backfill = PartitionBackfill.from_asset_graph_subset(
        backfill_id=make_new_backfill_id(), backfill_timestamp=time.time(), tags=tags,
        dynamic_partitions_store=instance, asset_graph_subset=backfill_subset(defs, days, with_registry),
        title=title or f"{days[0]} … {days[-1]}", description=None, run_config=None,
    )
    instance.add_backfill(backfill)
    return backfill.backfill_id


def _pid_file(instance: dg.DagsterInstance) -> Path:
    return Path(instance.root_directory) / PID_FILE


def daemon_is_live(instance: dg.DagsterInstance) -> bool:
    """A recent heartbeat, from a daemon that is not one the CLI started and that has died since
    (a killed CLI leaves its daemon's heartbeat behind for a minute)."""
    beat = instance.get_daemon_heartbeats().get("BACKFILL")
    if beat is None or time.time() - beat.timestamp >= LIVE_HEARTBEAT_SECONDS:
        return False
    pid_file = _pid_file(instance)
    if pid_file.exists() and not is_running(int(pid_file.read_text() or 0)):
        instance.wipe_daemon_heartbeats()
        return False
    return True


@contextmanager
def running_daemon(instance: dg.DagsterInstance, log_file: Path, *, drain: bool = True) -> Iterator[bool]:
    """A daemon for the block: the instance's own when one is live (yields False), else
    `dagster-daemon run` started here and stopped after (yields True), once its work in flight
    is done when the block ends normally and `drain` is set."""
    apply_pool_limits(instance)
    if daemon_is_live(instance):
        yield False
        return
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", str(REPO_ROOT / "workspace.yaml")],
            cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy(),
        )
    pid_file = _pid_file(instance)
    pid_file.write_text(str(process.pid))
    try:
        yield True
        if drain:
            settle(instance)
    finally:
        pid_file.unlink(missing_ok=True)
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        # Its last heartbeat would pass for a live daemon for another minute.
        instance.wipe_daemon_heartbeats()


def settle(instance: dg.DagsterInstance, timeout: float = SETTLE_SECONDS, poll: float = 1.0) -> None:
    """Wait until the daemon has no work in flight. The block's own backfill may have finished
    while the daemon still runs another's: one a killed CLI left (its failed runs retried), or
    the KPI run the sensor launched for it. Stopped mid-launch, such a run would be left STARTING,
    or its worker would go on writing after the writer lock is released."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not (instance.get_run_records(filters=dg.RunsFilter(statuses=IN_FLIGHT), limit=1)
                or instance.get_backfills(filters=BulkActionsFilter(statuses=BACKFILLS_IN_FLIGHT), limit=1)):
            return
        time.sleep(poll)
    print(f"The daemon still had runs in flight after {timeout:.0f} s; stopping it: the next run marks those "
          "whose process is gone failed.", file=sys.stderr)


@dataclass
class BatchReport:
    """How a submitted backfill ended: its status, its runs, the KPI run, and the agency-days left out."""

    backfill_id: str
    days: list[date]
    status: str = ""
    runs: int = 0
    failed_runs: int = 0
    kpi_ok: bool = False
    agency_days: int = 0
    failed: list[str] = field(default_factory=list)


def _days_of(run: dg.DagsterRun) -> list[date]:
    start = run.tags.get("dagster/asset_partition_range_start") or run.tags.get("dagster/partition")
    end = run.tags.get("dagster/asset_partition_range_end") or start
    return date_range(date.fromisoformat(start), date.fromisoformat(end)) if start else []


def wait_for_backfill(instance: dg.DagsterInstance, backfill_id: str, days: list[date], *,
                      agencies: list[str] | None = None, on_days_done=None, timeout: float = 6 * 3600,
                      poll: float = 2.0) -> BatchReport:
    """Wait until the backfill has completed and its KPI run has finished; `on_days_done(days)` is
    called with the days of each ingestion run as it finishes."""
    report = BatchReport(backfill_id=backfill_id, days=days)
    deadline = time.monotonic() + timeout
    seen: set[str] = set()
    kpi_run = None
    while time.monotonic() < deadline:
        backfill = instance.get_backfill(backfill_id)
        runs = instance.get_runs(filters=dg.RunsFilter(tags={BACKFILL_TAG: backfill_id}))
        for run in runs:
            if run.status in FINISHED and run.run_id not in seen:
                seen.add(run.run_id)
                if on_days_done and run.job_name != "registry_job":
                    on_days_done(_days_of(run))
        done = backfill.status in BACKFILL_DONE
        if done:
            kpi_runs = instance.get_runs(filters=dg.RunsFilter(job_name="kpi_job",
                                                               tags={BATCH_TAG: f"backfill:{backfill_id}"}))
            kpi_run = kpi_runs[0] if kpi_runs else None
            if kpi_run is not None and kpi_run.status in FINISHED:
                break
            if backfill.status in (BulkActionStatus.FAILED, BulkActionStatus.CANCELED) and not kpi_runs:
                break
        time.sleep(poll)
    else:
        raise TimeoutError(f"backfill {backfill_id} did not finish within {timeout:.0f} s; see it in the Dagster UI")
    report.status = backfill.status.value
    report.runs = len(runs)
    report.failed_runs = sum(r.status != dg.DagsterRunStatus.SUCCESS for r in runs)
    report.kpi_ok = kpi_run is not None and kpi_run.status == dg.DagsterRunStatus.SUCCESS
    planned = agency_days(days, agencies)
    report.agency_days = len(planned)
    report.failed = [f"{code} {day}" for code, day in planned if not paths.is_validated(code, day)]
    return report

"""The cluster as `make cluster` starts it (config/dagster.cluster.yaml): PostgreSQL for the
instance, Redis as Celery's broker and result backend, two Celery workers, the daemon and the
webserver on loopback. Two days of every agency go through the instance as one backfill, then
the KPI run; the worker running the ingestion is killed (SIGKILL, its whole process group)
while it is pulling.

The release is byte-identical to the same days run in process (the existing path); the
backfill completes on the other worker (run monitoring fails the dead worker's run, run
retries launch it again) with nothing lost or duplicated; `cluster-stop` stops it all.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from pipelines.cluster.services import free_port
from pipelines.defs.schedules import RANGE_START_TAG
from pipelines.lib.processes import is_running
from pipelines.settings import REPO_ROOT
from tests import helpers
from tests.helpers import STAMPED, file_bytes, run_graph, serve

SEED, SCALE, NOW = 15, 0.002, datetime(2025, 3, 6)
DAYS = [date(2025, 3, 3), date(2025, 3, 4)]
# The simulator holds every dossier request after this many until the worker is killed: the
# kill lands mid-ingest, whatever the machine's speed.
REQUESTS_BEFORE_KILL = 20
# Safety nets for a hang, not measures: this machine may be busy.
BOUND_SECONDS = 1800
wait_for = partial(helpers.wait_for, seconds=BOUND_SECONDS, poll=0.5)


class Gate:
    """Holds the simulator's dossier requests after the first `after` until opened."""

    def __init__(self, after: int):
        self.after, self.seen = after, 0
        self.lock = threading.Lock()
        self.closed, self.opened = threading.Event(), threading.Event()

    def hold(self, path: str) -> None:
        if "/dossiers" not in path:
            return
        with self.lock:
            self.seen += 1
            held = self.seen > self.after
        if held:
            self.closed.set()
            self.opened.wait(BOUND_SECONDS)


def gated(server, gate: Gate) -> None:
    """The simulator's server, each GET held at the gate first."""
    from simulator.server import Handler

    class GatedHandler(Handler):
        def do_GET(self):  # noqa: N802
            gate.hold(self.path)
            super().do_GET()

    server.RequestHandlerClass = GatedHandler


def celery_worker(instance: dg.DagsterInstance, run: dg.DagsterRun) -> str | None:
    """The Celery worker (node name) that took the run's task."""
    return instance.run_launcher.celery.AsyncResult(run.tags["dagster-celery/task_id"]).worker


@dataclass
class Clustered:
    data: Path
    reference: Path
    state: dict
    report: object
    runs: dict  # run id -> (ingestion or registry, status, worker, parent run id)
    killed: str
    killed_worker: str
    landed_at_kill: int
    stock_health: str
    our_health: str
    failure_message: str
    kpi_runs: list
    pools: dict
    max_concurrent_runs: int
    stop: subprocess.CompletedProcess
    cluster_exit: int
    cluster_log: str


@pytest.fixture(scope="module")
def clustered():
    from dagster_celery.launcher import CeleryRunLauncher
    from simulator import Simulation

    from pipelines.cluster.launcher import ClusterRunLauncher
    from pipelines.definitions import defs
    from pipelines.defs.sensors import BACKFILL_TAG
    from pipelines.orchestration import running_daemon, submit_backfill, wait_for_backfill

    # Not under pytest's own temporary folder: as root, PostgreSQL runs as the postgres user, who
    # must reach its folder in the data directory.
    tmp = Path(tempfile.mkdtemp(prefix="egov-cluster-"))
    tmp.chmod(0o755)
    (tmp / "in-process").mkdir()
    data, log = tmp / "data", tmp / "cluster.log"
    gate = Gate(REQUESTS_BEFORE_KILL)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("EGOV_DATA_DIR", str(data))
        server = serve(Simulation(seed=SEED, scale=SCALE, faults="none", now=NOW), tmp, monkeypatch)
        gated(server, gate)
        env = {k: v for k, v in os.environ.items() if not k.startswith("DAGSTER_")}
        with open(log, "wb") as out:
            cluster = subprocess.Popen(
                [sys.executable, "-m", "pipelines", "cluster", "--workers", "2", "--port", str(free_port())],
                cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            # Meanwhile, the same days in process on an instance of their own: the reference.
            reference, in_process = run_graph(Simulation(seed=SEED, scale=SCALE, faults="none", now=NOW),
                                              tmp / "in-process", DAYS, None)
            assert in_process.kpi_ok and not in_process.failed, in_process
            state_file = data / "cluster" / "cluster.json"
            wait_for(state_file.exists, "the cluster to be up", cluster, log)
            state = json.loads(state_file.read_text(encoding="utf-8"))
            for name, value in state["env"].items():
                monkeypatch.setenv(name, value)
            with dg.DagsterInstance.get() as instance, running_daemon(instance, tmp / "unused.log") as started:
                assert not started, "the cluster's own daemon takes the backfill"
                backfill_id = submit_backfill(instance, defs, DAYS, title="the cluster test")
                assert gate.closed.wait(BOUND_SECONDS), "the ingestion run never reached the simulator"
                (run,) = wait_for(lambda: [r for r in instance.get_runs(filters=dg.RunsFilter(
                    statuses=[dg.DagsterRunStatus.STARTED], tags={BACKFILL_TAG: backfill_id})) if RANGE_START_TAG in r.tags],
                    "the ingestion run to be started", cluster, log)
                landed = wait_for(lambda: len(list((data / "raw" / "dossiers").glob("*/*/dossiers.parquet"))),
                                  "a first agency-day to land", cluster, log)
                worker = celery_worker(instance, run)
                os.killpg(state["processes"][worker.split("@")[0]], signal.SIGKILL)
                launcher = instance.run_launcher
                assert isinstance(launcher, ClusterRunLauncher)
                # What dagster-celery alone would say of the dead worker's run, and what ours says.
                stock = CeleryRunLauncher.check_run_worker_health(launcher, run).status.value
                ours = launcher.check_run_worker_health(run).status.value
                gate.opened.set()
                report = wait_for_backfill(instance, backfill_id, DAYS, timeout=BOUND_SECONDS)
                runs = {r.run_id: ("ingestion" if RANGE_START_TAG in r.tags else "registry", r.status.value,
                                   celery_worker(instance, r), r.parent_run_id)
                        for r in instance.get_runs(filters=dg.RunsFilter(tags={BACKFILL_TAG: backfill_id}))}
                failure = [e.message for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)]
                kpi_runs = [(r.status.value, celery_worker(instance, r))
                            for r in instance.get_runs(filters=dg.RunsFilter(job_name="kpi_job"))]
                pools = {key: instance.event_log_storage.get_concurrency_info(key).slot_count
                         for key in ("agency_api", "duckdb_writer")}
                slots = instance.get_concurrency_config().run_queue_config.max_concurrent_runs
            stop = subprocess.run([sys.executable, "-m", "pipelines", "cluster-stop"], cwd=REPO_ROOT, env=env,
                                  capture_output=True, text=True, timeout=BOUND_SECONDS)
            exit_code = cluster.wait(timeout=BOUND_SECONDS)
        finally:
            gate.opened.set()
            if cluster.poll() is None:  # a failure above: stop it all in order, then whatever is left
                subprocess.run([sys.executable, "-m", "pipelines", "cluster-stop"], cwd=REPO_ROOT, env=env,
                               capture_output=True, timeout=BOUND_SECONDS)
                try:
                    os.killpg(cluster.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            server.shutdown()
    yield Clustered(data, reference, state, report, runs, run.run_id, worker, landed, stock, ours,
                    "\n".join(failure), kpi_runs, pools, slots, stop, exit_code, log.read_text(errors="replace"))
    shutil.rmtree(tmp, ignore_errors=True)


def test_the_release_is_byte_identical_to_the_in_process_run(clustered):
    for folder, pattern in (("validated", "**/*.parquet"), ("open/latest", "*")):
        cluster, in_process = (file_bytes(root / folder, pattern) for root in (clustered.data, clustered.reference))
        assert cluster.keys() == in_process.keys(), folder
        assert [name for name in cluster if cluster[name] != in_process[name] and name not in STAMPED] == [], folder
    assert {"kpi_scores.parquet", "kpi_processed_records.csv"} <= set(file_bytes(clustered.data / "open/latest", "*"))


def test_a_killed_worker_leaves_the_backfill_to_the_other(clustered):
    assert clustered.landed_at_kill >= 1, "killed while ingesting: some agency-days had landed"
    # dagster-celery alone takes the dead worker's run for running (its task state says STARTED).
    assert (clustered.stock_health, clustered.our_health) == ("RUNNING", "FAILED")
    kind, status, _worker, _parent = clustered.runs[clustered.killed]
    assert (kind, status) == ("ingestion", "FAILURE")
    assert f"Celery worker {clustered.killed_worker} does not answer" in clustered.failure_message
    (retry,) = [r for r in clustered.runs.values() if r[3] == clustered.killed]
    survivor = next(name for name in clustered.state["processes"] if name.startswith("worker-")
                    and not clustered.killed_worker.startswith(name + "@"))
    assert retry[:2] == ("ingestion", "SUCCESS") and retry[2].startswith(survivor + "@")
    assert clustered.report.status == "COMPLETED_SUCCESS" and clustered.report.failed == []
    assert clustered.report.kpi_ok
    # One KPI run, on the worker left.
    assert [(status, worker.split("@")[0]) for status, worker in clustered.kpi_runs] == [("SUCCESS", survivor)]


def counts(root: Path) -> tuple:
    """The validated agency-days, the versions their sources reported, the versions validated and
    how many of those are distinct (agency, day, dossier)."""
    validated = root / "validated"
    manifests = duckdb.sql(f"select agency_code, day, source_total "
                           f"from read_parquet('{validated}/partitions/*/*/*.parquet')").fetchall()
    versions, distinct = duckdb.sql(
        f"select count(*), count(distinct (agency_code, date, dossier_code)) "
        f"from read_parquet('{validated}/dossiers/*/*/*.parquet', hive_partitioning = true)").fetchall()[0]
    return sorted((code, day) for code, day, _ in manifests), sum(n for *_, n in manifests), versions, distinct


def test_nothing_is_lost_or_duplicated(clustered):
    validated, reported, versions, distinct = counts(clustered.data)
    assert len(set(validated)) == len(validated) == clustered.report.agency_days, "every agency-day planned, once"
    assert reported == versions == distinct > 0, "each version the sources reported, once"
    assert counts(clustered.reference) == (validated, reported, versions, distinct)
    releases = json.loads((clustered.data / "open" / "releases.json").read_text(encoding="utf-8"))
    assert len(releases["releases"]) == 1, "published once"


def test_the_workers_share_the_instance_and_its_limits(clustered):
    from pipelines.defs.concurrency import POOL_LIMITS

    assert clustered.pools == POOL_LIMITS  # in PostgreSQL: every worker's runs count against them
    assert clustered.max_concurrent_runs == 2  # a run slot per worker: runs wait in the daemon's queue
    assert all(worker for _kind, _status, worker, _parent in clustered.runs.values()), "every run went through Celery"


def test_the_cluster_stops_cleanly(clustered):
    assert clustered.stop.returncode == 0, clustered.stop.stderr
    assert clustered.cluster_exit == 0 and "Cluster stopped." in clustered.cluster_log, clustered.cluster_log[-3000:]
    state = clustered.state
    assert state["daemon"], "the cluster started its own daemon"
    assert not [pid for pid in [state["pid"], state["daemon"], *state["processes"].values()] if is_running(pid)]
    assert not (clustered.data / "cluster" / "cluster.json").exists()


def test_the_cluster_instance_is_the_production_one_handing_runs_to_celery():
    """config/dagster.cluster.yaml differs from the production instance only where it says CLUSTER."""
    production, cluster = (yaml.safe_load((REPO_ROOT / "config" / name).read_text(encoding="utf-8"))
                           for name in ("dagster.production.yaml", "dagster.cluster.yaml"))
    launcher = cluster.pop("run_launcher")
    assert (launcher["module"], launcher["class"]) == ("pipelines.cluster.launcher", "ClusterRunLauncher")
    assert cluster["run_monitoring"].pop("poll_interval_seconds") < production["run_monitoring"]["max_runtime_seconds"]
    for config in (production, cluster):
        config["concurrency"]["runs"].pop("max_concurrent_runs")
    assert cluster == production
    # A running run is never handed to a second worker by the broker.
    options = launcher["config"]["config_source"]
    assert options["broker_transport_options"]["visibility_timeout"] > production["run_monitoring"]["max_runtime_seconds"]
    assert options["task_acks_late"] and options["worker_prefetch_multiplier"] == 1

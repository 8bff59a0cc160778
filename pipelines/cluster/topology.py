"""The whole cluster on one machine, for a try-out and for the tests and the bench: PostgreSQL
(the instance), Redis (Celery's broker and result backend), N Celery workers, the daemon and
optionally the webserver, each a process of its own, all on 127.0.0.1.

`make cluster WORKERS=2` (`python -m pipelines cluster`) runs it in the foreground; Ctrl-C or
`make cluster-stop` stops it: the daemon first (no run is launched any more), then the
webserver and the workers (a worker finishes its run if it can within STOP_SECONDS), Redis,
PostgreSQL. Everything lives under <data dir>/cluster/: the PostgreSQL cluster and Redis's file
(kept from one start to the next, so the instance keeps its history), DAGSTER_HOME, each
process's log, and cluster.json: what runs (pids) and the environment a client of the cluster
needs (`python -m pipelines backfill --cluster`). The workers share the data directory with
each other and with the client: one directory on one machine is the path tested here.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import requests
import yaml

from pipelines.cluster.services import postgres_server, redis_server
from pipelines.lib.landing import atomic_path
from pipelines.lib.processes import is_running
from pipelines.lib.writer_lock import writer_lock
from pipelines.orchestration import PID_FILE, daemon_is_live, running_daemon
from pipelines.settings import REPO_ROOT, data_dir

STATE_FILE = "cluster.json"
# Starting takes seconds on a quiet machine; the bounds only catch a process that never comes up.
READY_SECONDS = 600
STOP_SECONDS = 30
# What a client of the cluster needs in its environment (the rest is the workers' own).
CLIENT_VARIABLES = ("DAGSTER_HOME", "DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_DB", "DAGSTER_PG_USER",
                    "DAGSTER_PG_PASSWORD", "DAGSTER_CELERY_BROKER_URL", "DAGSTER_CELERY_BACKEND_URL",
                    "EGOV_DATA_DIR", "EGOV_SOURCE_URL", "EGOV_AGENCY_TOKENS_FILE")


class ClusterNotRunning(RuntimeError):
    """No cluster is up on this data directory; the message says how to start one."""


def cluster_dir() -> Path:
    """Where the cluster of this data directory keeps everything of its own."""
    return data_dir() / "cluster"


def worker_name(number: int) -> str:
    """Celery's node name of a worker (`%h` is the machine's host name)."""
    return f"worker-{number}@{socket.gethostname()}"


def prepare_home(home: Path, workers: int) -> None:
    """$DAGSTER_HOME/dagster.yaml: config/dagster.cluster.yaml with as many run slots as the workers have."""
    config = yaml.safe_load((REPO_ROOT / "config" / "dagster.cluster.yaml").read_text(encoding="utf-8"))
    slots = config["run_launcher"]["config"]["config_source"]["worker_concurrency"]
    config["concurrency"]["runs"]["max_concurrent_runs"] = workers * slots
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(
        f"# config/dagster.cluster.yaml for {workers} worker(s), written by `make cluster`: edit that file instead.\n"
        + yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


@dataclass
class Cluster:
    """A running topology: its folder, the environment of its clients, its processes by name."""

    folder: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def workers(self) -> dict[str, subprocess.Popen]:
        """The Celery workers' processes, by name."""
        return {name: p for name, p in self.processes.items() if name.startswith("worker-")}


def _start(name: str, command: list[str], logs: Path) -> subprocess.Popen:
    """A process of the topology in a session of its own: Ctrl-C reaches the supervisor alone,
    which stops each in turn, and a stop or a kill takes the process's children with it."""
    with open(logs / f"{name}.log", "ab") as log:
        return subprocess.Popen(command, cwd=REPO_ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM (a worker's warm shutdown: it ends its run if it can), SIGKILL after STOP_SECONDS,
    then whatever is left of its session (a run's child process, a dbt)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _wait_until(ready, what: str, cluster: Cluster) -> None:
    """Poll `ready()`; fail naming the log of a process that exited meanwhile, or after READY_SECONDS."""
    deadline = time.monotonic() + READY_SECONDS
    while not ready():
        for name, process in cluster.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited ({process.returncode}) before {what}: see "
                                   f"{cluster.folder / 'logs' / (name + '.log')}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}; the logs are in {cluster.folder / 'logs'}")
        time.sleep(0.5)


def _answering(app, names: set[str]) -> bool:
    """Whether every worker of `names` answers a ping through the broker."""
    replies = app.control.ping(timeout=1.0)
    return names <= {name for reply in replies for name in reply}


def _serving(url: str) -> bool:
    """Whether the webserver at `url` answers."""
    try:
        return requests.get(f"{url}/server_info", timeout=5).ok
    except requests.RequestException:
        return False


def _write_state(cluster: Cluster, daemon_pid: int | None, ui: str | None) -> None:
    """cluster.json, atomically: a reader sees the cluster up and whole, or not at all."""
    state = {"pid": os.getpid(), "env": cluster.env, "ui": ui, "daemon": daemon_pid,
             "processes": {name: p.pid for name, p in cluster.processes.items()}}
    with atomic_path(cluster.folder / STATE_FILE) as staging:
        staging.write_text(json.dumps(state, indent=2), encoding="utf-8")


@contextmanager
def cluster(workers: int, webserver_port: int | None = None) -> Iterator[Cluster]:
    """The topology for the block, ready when yielded (every worker answers, the daemon beats,
    the webserver serves). It holds the data directory's writer lock for the block, and this
    process becomes the cluster's client: its environment gets the cluster's."""
    folder = cluster_dir()
    logs, home = folder / "logs", folder / "dagster"
    logs.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        stack.enter_context(writer_lock(data_dir(), command=f"the cluster ({workers} workers)"))
        prepare_home(home, workers)
        postgres = stack.enter_context(postgres_server(folder / "postgres"))
        broker = stack.enter_context(redis_server(folder / "redis"))
        os.environ.update({**postgres, "DAGSTER_HOME": str(home), "EGOV_DATA_DIR": str(data_dir()),
                           "DAGSTER_CELERY_BROKER_URL": f"{broker}/0", "DAGSTER_CELERY_BACKEND_URL": f"{broker}/1",
                           # Every process imports this checkout's code (the run launcher the daemon
                           # loads included), whichever copy the environment has installed.
                           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))})
        running = Cluster(folder, {name: os.environ[name] for name in CLIENT_VARIABLES if name in os.environ})
        instance = stack.enter_context(dg.DagsterInstance.get())
        stack.callback(lambda: [_stop(p) for p in reversed(list(running.processes.values()))])
        for number in range(1, workers + 1):
            name = f"worker-{number}"
            running.processes[name] = _start(name, [sys.executable, "-m", "celery", "-A", "pipelines.cluster.worker",
                                                    "worker", "--hostname", f"{name}@%h", "--loglevel", "INFO",
                                                    "--without-mingle", "--without-gossip"], logs)
        names = {worker_name(n) for n in range(1, workers + 1)}
        _wait_until(lambda: _answering(instance.run_launcher.celery, names), "every worker to answer", running)
        # The daemon that launches the runs (the same one `make run` starts), stopped first at the end;
        # runs still in flight then are left to run monitoring and retries, as for a lost worker.
        stack.enter_context(running_daemon(instance, logs / "daemon.log", drain=False))
        pid_file = Path(instance.root_directory) / PID_FILE
        daemon_pid = int(pid_file.read_text()) if pid_file.exists() else None
        ui = None
        if webserver_port is not None:
            ui = f"http://127.0.0.1:{webserver_port}"
            running.processes["webserver"] = _start("webserver", [
                str(Path(sys.executable).parent / "dagster-webserver"), "-w", str(REPO_ROOT / "workspace.yaml"),
                "-h", "127.0.0.1", "-p", str(webserver_port)], logs)
            _wait_until(lambda: _serving(ui), "the webserver to serve", running)

        def daemon_up() -> bool:
            if daemon_pid is not None and not is_running(daemon_pid):
                raise RuntimeError(f"the daemon exited before its first heartbeat: see {logs / 'daemon.log'}")
            return daemon_is_live(instance)

        _wait_until(daemon_up, "the daemon's first heartbeat", running)
        _write_state(running, daemon_pid, ui)
        stack.callback((folder / STATE_FILE).unlink, missing_ok=True)
        yield running


def state() -> dict:
    """What cluster.json says of the cluster up on this data directory."""
    path = cluster_dir() / STATE_FILE
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        found = None
    if found is None or not is_running(found["pid"]):
        raise ClusterNotRunning(f"no cluster is running on {data_dir()}: start one with `make cluster` "
                                "(docs/operations.md, 'The cluster')")
    return found


def stop() -> int:
    """Ask the running cluster's supervisor to stop (as Ctrl-C does) and wait for it; its pid."""
    pid = state()["pid"]
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + READY_SECONDS
    while is_running(pid):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the cluster (pid {pid}) did not stop within {READY_SECONDS} s")
        time.sleep(0.5)
    return pid

"""PostgreSQL and Redis on 127.0.0.1 as child processes: Debian's packages (`make postgres`,
`make redis` install them), for the cluster try-out and the tests that need a real instance or
broker. A real deployment runs managed ones instead and only sets the environment these yield.

PostgreSQL refuses to run as root: as root (CI), its folder belongs to the `postgres` user.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

START_SECONDS = 60


def free_port() -> int:
    """A TCP port nothing listens on at the moment, on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _postgres_bindir() -> Path:
    initdbs = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not initdbs:
        raise RuntimeError("PostgreSQL is not installed: `make postgres` installs Debian's postgresql")
    return initdbs[-1].parent


@contextmanager
def postgres_server(folder: Path | None = None) -> Iterator[dict[str, str]]:
    """A PostgreSQL cluster on 127.0.0.1 for the block, with a `dagster` database; yields the
    DAGSTER_PG_* environment config/dagster.production.yaml reads.

    `folder` keeps the cluster (and its generated password) from one start to the next; None
    makes a throwaway one, removed after."""
    import psycopg2

    bindir = _postgres_bindir()
    root = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="egov-pg-"))
    root.mkdir(parents=True, exist_ok=True)
    as_owner = []
    if os.geteuid() == 0:
        as_owner = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres", "postgres")
        if subprocess.run([*as_owner, "test", "-w", str(root)]).returncode != 0:
            raise RuntimeError(f"PostgreSQL runs as the postgres user here and cannot reach {root}: "
                               "put the data directory where that user can (or run as a normal user)")
    password_file = root / "password"
    if not password_file.exists():
        password_file.write_text(secrets.token_hex(16))
        password_file.chmod(0o600)
        if as_owner:
            shutil.chown(password_file, "postgres", "postgres")
    password = password_file.read_text().strip()
    data, port = root / "data", free_port()
    if not (data / "PG_VERSION").exists():
        subprocess.run([*as_owner, str(bindir / "initdb"), "-D", str(data), "-U", "dagster", "--pwfile",
                        str(password_file), "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8"],
                       check=True, capture_output=True)
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root}"
    started = subprocess.run([*as_owner, str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                              str(root / "log"), "-w", "start"], capture_output=True, text=True)
    if started.returncode != 0:  # e.g. a server left running on the same folder by a killed cluster
        raise RuntimeError(f"PostgreSQL did not start on {data}: {started.stdout.strip()} {started.stderr.strip()} "
                           f"(its log: {root / 'log'})")
    try:
        con = psycopg2.connect(host="127.0.0.1", port=port, user="dagster", password=password, dbname="postgres")
        con.autocommit = True  # CREATE DATABASE cannot run in a transaction
        with con.cursor() as cursor:
            cursor.execute("select 1 from pg_database where datname = 'dagster'")
            if cursor.fetchone() is None:
                cursor.execute("create database dagster")
        con.close()
        yield {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(port), "DAGSTER_PG_DB": "dagster",
               "DAGSTER_PG_USER": "dagster", "DAGSTER_PG_PASSWORD": password}
    finally:
        subprocess.run([*as_owner, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       capture_output=True)
        if folder is None:
            shutil.rmtree(root, ignore_errors=True)


@contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """Redis on 127.0.0.1 for the block; yields its URL (`redis://127.0.0.1:port`).

    Its data (runs handed to Celery and not taken yet, the tasks' states that run monitoring
    reads) is kept in `folder` as an append-only file with its log, so a restart of Redis loses
    neither: a started run whose state were lost would look unhealthy and be run again."""
    import redis

    server = shutil.which("redis-server")
    if server is None:
        raise RuntimeError("Redis is not installed: `make redis` installs Debian's redis-server")
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [server, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(folder), "--save", "",
               "--appendonly", "yes", "--logfile", str(folder / "redis.log")]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                if redis.Redis.from_url(url).ping():
                    break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start: see {folder / 'redis.log'}") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)

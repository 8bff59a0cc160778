"""`python -m pipelines run`: the main job, end to end, against the embedded simulator.

Starts the agency simulator on a free loopback port, points the pipeline at it (URL and tokens
through the environment, as for real agencies), materializes every asset for the last N
complete days on the persistent Dagster instance in <data dir>/dagster, and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from datetime import date, datetime
from pathlib import Path

from pipelines.lib.reference import STOCK_LOOKBACK_DAYS
from pipelines.lib.writer_lock import DataDirectoryBusy
from pipelines.settings import REPO_ROOT, data_dir, open_data_dir

DEMO_SEED = 42
DEMO_SCALE = 0.01
EXIT_BUSY = 75  # EX_TEMPFAIL: try again once the other run has finished


def prepare_dagster_home() -> Path:
    """A persistent instance under the data directory, shared by `make run` and `make ui`.

    An instance with storage of its own (production: PostgreSQL) is never replaced by the
    embedded configuration."""
    import yaml

    home = Path(os.environ.get("DAGSTER_HOME") or data_dir() / "dagster")
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not (config.exists() and "storage" in (yaml.safe_load(config.read_text(encoding="utf-8")) or {})):
        shutil.copyfile(REPO_ROOT / "config" / "dagster.yaml", config)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


@contextmanager
def simulator(seed: int, scale: float, faults: str, cache_mb: int | None = None, page_cache_mb: int = 0):
    """The agency simulator as a child process on 127.0.0.1; yields (base URL, tokens file).

    `cache_mb`: memory for its generated days and window indexes (its defaults hold a small
    scale; the bench gives it enough to keep a national day once generated); `page_cache_mb`:
    for the pages it served of closed windows, sent again as they are."""
    run_dir = data_dir() / "simulator"
    run_dir.mkdir(parents=True, exist_ok=True)
    port_file, tokens_file = run_dir / "port", run_dir / "tokens.json"
    port_file.unlink(missing_ok=True)
    command = [
        sys.executable, "-m", "simulator", "serve", "--host", "127.0.0.1", "--port", "0",
        "--seed", str(seed), "--scale", str(scale), "--faults", faults,
        "--tokens-file", str(tokens_file), "--port-file", str(port_file),
    ]
    if cache_mb:
        command += ["--cache-mb", str(cache_mb), "--window-cache-mb", str(cache_mb // 2)]
    if page_cache_mb:
        command += ["--page-cache-mb", str(page_cache_mb)]
    process = subprocess.Popen(command, cwd=REPO_ROOT)
    try:
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the simulator did not start: {' '.join(command)}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port_file.read_text().strip()}", tokens_file
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # SIGTERM ignored (inherited from a nohup'd or background shell)
            process.kill()
            process.wait()


def summary(report, elapsed: float) -> str:
    latest = open_data_dir() / "latest"
    lines = [
        "",
        f"Done in {elapsed:.0f} s: {len(report.days)} days ({report.days[0]} … {report.days[-1]}), "
        f"{report.agency_days} agency-days in {report.runs} runs (backfill {report.backfill_id}).",
    ]
    if report.failed:
        lines.append(f"Failed or blocked agency-days ({len(report.failed)}), not in the KPIs: {', '.join(report.failed[:20])}")
    package_file = latest / "datapackage.json"
    if report.kpi_ok and package_file.exists():
        package = json.loads(package_file.read_text(encoding="utf-8"))
        lines.append("KPI tables (rows):")
        for resource in package["resources"]:
            if resource["format"] == "csv":
                with open(latest / resource["path"], encoding="utf-8") as fh:
                    rows = sum(1 for _ in fh) - 1
                lines.append(f"  {resource['name']:<28} {rows:>8}")
        lines.append(f"Open data: {latest}/ (CSV, Parquet, datapackage.json)")
    else:
        lines.append("The KPI models or the export failed: see the run in the Dagster UI.")
    lines.append(f"Dagster instance: {os.environ['DAGSTER_HOME']}  ·  UI: `make ui`, then http://127.0.0.1:3000")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="materialize every asset for the last N complete days against the simulator")
    run.add_argument("--days", type=int, default=7)
    run.add_argument("--seed", type=int, default=DEMO_SEED)
    run.add_argument("--scale", type=float, default=DEMO_SCALE)
    run.add_argument("--faults", default="none")
    run.add_argument("--lookback-days", type=int, default=STOCK_LOOKBACK_DAYS, help=(
        "days before the first to pull too, where not held yet, so that its open stock is known "
        f"(default {STOCK_LOOKBACK_DAYS}; 0: none, and the stocks of the first days are published "
        "as incomplete_history)"))
    ui = sub.add_parser("ui", help="the Dagster UI and daemon on loopback, wired to a running simulator")
    ui.add_argument("--port", type=int, default=3000)
    ui.add_argument("--seed", type=int, default=DEMO_SEED)
    ui.add_argument("--scale", type=float, default=DEMO_SCALE)
    ui.add_argument("--faults", default="none")
    fresh = sub.add_parser("freshness", help="which agency sent data up to when, who is late, how current each KPI table is")
    fresh.add_argument("--json", action="store_true", help="the report as JSON (the release's freshness.json)")
    fresh.add_argument("--now", type=local_datetime, default=None, help="evaluate at this time (ISO 8601; default: now)")
    backfill = sub.add_parser("backfill", help="ingest a range of days for some or all agencies, then rebuild the KPIs")
    backfill.add_argument("--start", type=date.fromisoformat, required=True, help="first day, YYYY-MM-DD")
    backfill.add_argument("--end", type=date.fromisoformat, required=True, help="last day, YYYY-MM-DD (included)")
    backfill.add_argument("--agency", action="append", default=None, help="an agency code; repeat for more (default: all)")
    backfill.add_argument("--seed", type=int, default=DEMO_SEED, help="demo simulator, when EGOV_SOURCE_URL is not set")
    backfill.add_argument("--scale", type=float, default=DEMO_SCALE)
    backfill.add_argument("--faults", default="none")
    backfill.add_argument("--lookback-days", type=int, default=STOCK_LOOKBACK_DAYS, help=(
        "days before the first to pull too, where not held yet, so that its open stock is known "
        f"(default {STOCK_LOOKBACK_DAYS}; 0: none, and the stocks of the first days are published "
        "as incomplete_history)"))
    backfill.add_argument("--cluster", action="store_true", help=(
        "submit to the cluster `make cluster` runs on this data directory (its instance, daemon, workers and "
        "agencies) instead of running the days here"))
    cluster = sub.add_parser("cluster", help="PostgreSQL, Redis, Celery workers, the daemon and the UI on loopback "
                                             "(Ctrl-C or `cluster-stop` stops them)")
    cluster.add_argument("--workers", type=int, default=2)
    cluster.add_argument("--port", type=int, default=3000, help="the Dagster UI's")
    cluster.add_argument("--no-webserver", dest="webserver", action="store_false")
    cluster.add_argument("--seed", type=int, default=DEMO_SEED, help="demo simulator, when EGOV_SOURCE_URL is not set")
    cluster.add_argument("--scale", type=float, default=DEMO_SCALE)
    cluster.add_argument("--faults", default="none")
    sub.add_parser("cluster-stop", help="stop the cluster running on this data directory")
    args = parser.parse_args(argv)
    commands = {"run": run_command, "ui": ui_command, "freshness": freshness_command, "backfill": backfill_command,
                "cluster": cluster_command, "cluster-stop": cluster_stop_command}
    try:
        return commands[args.command](args)
    except DataDirectoryBusy as busy:  # another run holds the data directory: say who, no traceback
        print(busy, file=sys.stderr)
        return EXIT_BUSY


def local_datetime(text: str) -> datetime:
    """An ISO 8601 time; without an offset it is read in Asia/Ho_Chi_Minh."""
    from pipelines.settings import TIMEZONE

    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=TIMEZONE)


def freshness_command(args) -> int:
    """The freshness report of the data directory; exit 1 when an agency or a KPI table is late."""
    prepare_dagster_home()
    import dagster as dg

    from pipelines.defs.freshness import report_from_instance
    from pipelines.lib.freshness import format_report

    with dg.DagsterInstance.get() as instance:
        report = report_from_instance(instance, args.now)
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else format_report(report))
    summary = report["summary"]
    return 1 if summary["late"] or summary["missing"] or summary["kpi_tables_late"] else 0


@contextmanager
def agency_source(args):
    """The agencies' APIs from EGOV_SOURCE_URL / EGOV_AGENCY_TOKENS_FILE, else the demo simulator."""
    if os.environ.get("EGOV_SOURCE_URL"):
        yield os.environ["EGOV_SOURCE_URL"]
        return
    os.environ.setdefault("EGOV_ALLOW_DEMO_KEY", "1")
    with simulator(args.seed, args.scale, args.faults) as (base_url, tokens_file):
        os.environ["EGOV_SOURCE_URL"] = base_url
        os.environ["EGOV_AGENCY_TOKENS_FILE"] = str(tokens_file)
        yield f"the demo simulator at {base_url}"


def backfill_command(args) -> int:
    """`python -m pipelines backfill --start D --end D [--agency CODE ...] [--cluster]` (docs/operations.md)."""
    from pipelines.lib.agency_days import date_range

    days = date_range(args.start, args.end)
    with ExitStack() as stack:
        if args.cluster:
            # The cluster writes the data directory (it holds the writer lock): this only submits to it.
            source = f"the cluster's agencies ({use_cluster()})"
        else:
            prepare_dagster_home()
            from pipelines.defs.run_hygiene import sole_writer

            # One writer per data directory, dead runs marked failed, before the simulator starts.
            stack.enter_context(sole_writer())
            source = stack.enter_context(agency_source(args))
        days = with_look_back(days, args.agency, args.lookback_days)
        print(f"Backfilling {args.start} … {args.end} for {', '.join(args.agency) if args.agency else 'every agency'} "
              f"from {source}")
        report = run_through_instance(days, args.agency, f"backfill {args.start} … {args.end}")
    print(f"{report.agency_days - len(report.failed)} of {report.agency_days} agency-days validated in "
          f"{report.runs} runs; KPIs {'rebuilt and published' if report.kpi_ok else 'FAILED: see kpi_job in the Dagster UI'}.")
    if report.failed:
        print(f"Failed or blocked ({len(report.failed)}), rerun the same command to retry: {', '.join(report.failed)}")
    return 0 if report.kpi_ok and not report.failed else 1


def with_look_back(days, agencies, lookback_days: int):
    """`days` and the days of their look-back not held yet (pipelines/lib/agency_days.py), said."""
    from pipelines.lib.agency_days import look_back

    before = look_back(days, agencies, lookback_days)
    if before:
        print(f"With {len(before)} days of look-back not held yet ({before[0]} … {before[-1]}), so that the "
              f"open stock of {days[0]} is known (docs/kpis.md, 'Is a figure complete?')")
    return before + days


def run_through_instance(days, agencies, title: str):
    """Submit the days as one backfill to the instance, with a daemon, and wait for it and its KPIs
    with a progress bar (pipelines/orchestration.py)."""
    import dagster as dg
    from tqdm import tqdm

    from pipelines.lib.agency_days import agency_days, unknown_agencies
    from pipelines.lib import paths
    from pipelines.orchestration import running_daemon, submit_backfill, wait_for_backfill

    if agencies and paths.agencies_file().exists() and (unknown := unknown_agencies(agencies)):
        raise SystemExit(f"not in the agency registry: {', '.join(unknown)}")
    # After the source is set: the code location reads EGOV_ALLOW_DEMO_KEY when it loads.
    from pipelines.definitions import defs

    with dg.DagsterInstance.get() as instance, running_daemon(instance, data_dir() / "dagster" / "daemon.log"), \
            tqdm(unit="agency-day", desc=f"{days[0]} … {days[-1]}", dynamic_ncols=True) as bar:
        backfill_id = submit_backfill(instance, defs, days, agencies=agencies, title=title)
        bar.write(f"Backfill {backfill_id} submitted to the instance ({os.environ['DAGSTER_HOME']}); "
                  "its runs are in the Dagster UI")

        def days_done(finished) -> None:
            if bar.total is None:
                bar.total = len(agency_days(days, agencies))
            bar.update(len(agency_days(finished, agencies)))

        return wait_for_backfill(instance, backfill_id, days, agencies=agencies, on_days_done=days_done)


def use_cluster() -> str:
    """Make this process a client of the cluster up on the data directory (its instance, daemon
    and agencies); returns the agencies' URL."""
    from pipelines.cluster.topology import ClusterNotRunning, state

    try:
        os.environ.update(state()["env"])
    except ClusterNotRunning as absent:
        raise SystemExit(str(absent)) from None
    return os.environ.get("EGOV_SOURCE_URL", "")


def cluster_command(args) -> int:
    """`make cluster WORKERS=N`: the whole topology on loopback until Ctrl-C or `cluster-stop`
    (pipelines/cluster/topology.py, docs/operations.md 'The cluster')."""
    import signal

    from pipelines.cluster.topology import cluster

    # `cluster-stop` sends SIGTERM: stop as Ctrl-C does, in order.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with agency_source(args) as source, cluster(args.workers, args.port if args.webserver else None) as up:
            print(f"Cluster up on {data_dir()}: {len(up.workers())} Celery worker(s), the daemon"
                  f"{', the UI at http://127.0.0.1:' + str(args.port) if args.webserver else ''}; agencies: {source}.\n"
                  f"Backfill from the UI, or: python -m pipelines backfill --cluster --start D --end D. "
                  f"Logs: {up.folder / 'logs'}. Ctrl-C or `make cluster-stop` stops it.", flush=True)
            reported: set[str] = set()
            while True:
                for name, process in up.processes.items():
                    if process.poll() is not None and name not in reported:
                        reported.add(name)
                        print(f"{name} exited ({process.returncode}); the rest goes on (a run it held is failed "
                              "by run monitoring, then retried on a live worker)", flush=True)
                time.sleep(1)
    except KeyboardInterrupt:
        pass
    print("Cluster stopped.", flush=True)
    return 0


def cluster_stop_command(args) -> int:
    """`make cluster-stop`: the cluster of this data directory stops as on Ctrl-C; exit 1 if none runs."""
    from pipelines.cluster.topology import ClusterNotRunning, stop

    try:
        print(f"Stopped the cluster (pid {stop()}).")
    except ClusterNotRunning as absent:
        print(absent, file=sys.stderr)
        return 1
    return 0


def ui_command(args) -> int:
    """`dagster dev` (webserver + daemon) on 127.0.0.1, with the simulator serving beside it."""
    prepare_dagster_home()
    import dagster as dg

    from pipelines.defs.concurrency import apply_pool_limits
    from pipelines.lib.data_docs import URL_ENV
    from pipelines.serve.docs import serve_docs

    with dg.DagsterInstance.get() as instance:
        apply_pool_limits(instance)
    # Data Docs and dbt's docs over http, so the checks' links open from the UI.
    docs = serve_docs()
    os.environ[URL_ENV] = f"{docs.url}/data-docs"
    print(f"Data Docs: {docs.url}/data-docs/ · dbt docs (after `make docs`): {docs.url}/dbt-docs/")
    os.environ.setdefault("EGOV_ALLOW_DEMO_KEY", "1")
    with simulator(args.seed, args.scale, args.faults) as (base_url, tokens_file):
        os.environ["EGOV_SOURCE_URL"] = base_url
        os.environ["EGOV_AGENCY_TOKENS_FILE"] = str(tokens_file)
        print(f"Simulator at {base_url}. Dagster UI: http://127.0.0.1:{args.port} (Ctrl-C to stop)")
        dagster = Path(sys.executable).parent / "dagster"
        command = [str(dagster), "dev", "-w", str(REPO_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(args.port)]
        try:
            return subprocess.call(command, cwd=REPO_ROOT)
        except KeyboardInterrupt:
            return 0
        finally:
            docs.stop()


def run_command(args) -> int:
    started = time.monotonic()
    prepare_dagster_home()
    # The demo runs on the documented demo hashing key; production sets EGOV_HASH_KEY (docs/operations.md).
    os.environ.setdefault("EGOV_ALLOW_DEMO_KEY", "1")
    from pipelines.defs.run_hygiene import sole_writer
    from pipelines.lib.agency_days import last_complete_days

    # One writer per data directory, dead runs marked failed, before the simulator starts.
    with sole_writer(), simulator(args.seed, args.scale, args.faults) as (base_url, tokens_file):
        os.environ["EGOV_SOURCE_URL"] = base_url
        os.environ["EGOV_AGENCY_TOKENS_FILE"] = str(tokens_file)
        days = last_complete_days(args.days)
        print(f"Simulator at {base_url} (seed {args.seed}, scale {args.scale}, faults {args.faults}); "
              f"running {days[0]} … {days[-1]}")
        days = with_look_back(days, None, args.lookback_days)
        report = run_through_instance(days, None, f"make run {days[0]} … {days[-1]}")
    print(summary(report, time.monotonic() - started))
    return 0 if report.kpi_ok and not report.failed else 1


if __name__ == "__main__":
    sys.exit(main())

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
from contextlib import contextmanager
from pathlib import Path

from pipelines.settings import REPO_ROOT, data_dir, open_data_dir

DEMO_SEED = 42
DEMO_SCALE = 0.01


def prepare_dagster_home() -> Path:
    """A persistent instance under the data directory, shared by `make run` and `make ui`."""
    home = Path(os.environ.get("DAGSTER_HOME") or data_dir() / "dagster")
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO_ROOT / "config" / "dagster.yaml", home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


@contextmanager
def simulator(seed: int, scale: float, faults: str):
    """The agency simulator as a child process on 127.0.0.1; yields (base URL, tokens file)."""
    run_dir = data_dir() / "simulator"
    run_dir.mkdir(parents=True, exist_ok=True)
    port_file, tokens_file = run_dir / "port", run_dir / "tokens.json"
    port_file.unlink(missing_ok=True)
    command = [
        sys.executable, "-m", "simulator", "serve", "--host", "127.0.0.1", "--port", "0",
        "--seed", str(seed), "--scale", str(scale), "--faults", faults,
        "--tokens-file", str(tokens_file), "--port-file", str(port_file),
    ]
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
        process.wait(timeout=10)


def summary(report, elapsed: float) -> str:
    latest = open_data_dir() / "latest"
    lines = [
        "",
        f"Done in {elapsed:.0f} s: {len(report.days)} days ({report.days[0]} … {report.days[-1]}), "
        f"{report.partitions} agency-days ingested.",
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
    run.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes that ingest agency-days")
    ui = sub.add_parser("ui", help="the Dagster UI and daemon on loopback, wired to a running simulator")
    ui.add_argument("--port", type=int, default=3000)
    ui.add_argument("--seed", type=int, default=DEMO_SEED)
    ui.add_argument("--scale", type=float, default=DEMO_SCALE)
    ui.add_argument("--faults", default="none")
    args = parser.parse_args(argv)
    return run_command(args) if args.command == "run" else ui_command(args)


def ui_command(args) -> int:
    """`dagster dev` (webserver + daemon) on 127.0.0.1, with the simulator serving beside it."""
    prepare_dagster_home()
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


def run_command(args) -> int:

    started = time.monotonic()
    prepare_dagster_home()
    # The demo runs on the documented demo hashing key; production sets EGOV_HASH_KEY (docs/operations.md).
    os.environ.setdefault("EGOV_ALLOW_DEMO_KEY", "1")
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.runner import last_complete_days, run_days

    with simulator(args.seed, args.scale, args.faults) as (base_url, tokens_file):
        os.environ["EGOV_SOURCE_URL"] = base_url
        os.environ["EGOV_AGENCY_TOKENS_FILE"] = str(tokens_file)
        days = last_complete_days(args.days)
        print(f"Simulator at {base_url} (seed {args.seed}, scale {args.scale}, faults {args.faults}); "
              f"running {days[0]} … {days[-1]}")
        with dg.DagsterInstance.get() as instance:
            report = run_days(defs, instance, days, workers=args.workers)
    print(summary(report, time.monotonic() - started))
    return 0 if report.kpi_ok and not report.failed else 1


if __name__ == "__main__":
    sys.exit(main())

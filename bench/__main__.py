"""`make bench`: the pipeline against its floor and a peer, at three scales, in one run.

For each scale the simulator runs as a process of its own (pipelines.__main__.simulator), and
every step runs in a process of its own, forked once the steps' modules are imported, whose
tree is measured alone (bench.measure): the source (the simulator's first serving of the
day, which generates and renders it; reported, not compared), the floor fetch, the
pipeline's four stages (ingest, validate, transform, publish), the floor query and the peer.
After the source step the simulator sends the day's pages from memory, so the floor, the
pipeline and the peer are each timed for their own work, not the simulator's. Small scales
can be repeated and their medians reported. Then the incremental cost: the daily dbt run
after 1 day of history and after 30 (or 365) days. Results go to bench/results/ as JSON,
Markdown and a PNG chart; docs/performance.md explains them. Two plans run apart, with
results of their own: `--history`, a year of history through the production path
(bench.history), `--national-year`, the national year in the warehouse
(bench.national_year: a landed national day shifted across a year, dbt's full build and daily run),
and `--cluster`, the capacity of Celery workers (bench.cluster).

    .venv/bin/python -m bench [--scales 0.01,0.1,1.0] [--repeats 3] [--no-peer] [--incremental "0.1:30;0.01:365"]
    .venv/bin/python -m bench --history [--history-scale 0.01]
    .venv/bin/python -m bench --national-year [--base-scale 0.1 --replicas 10]
    .venv/bin/python -m bench --cluster [--cluster-scales 0.1,1.0 --cluster-workers 1,2 --cluster-days 14,2 --cluster-runs 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path

from bench import cluster, fixed_costs, history, national_year, report
from bench.measure import StepFailed, measure
from bench.step import preload
from pipelines.settings import REPO_ROOT, TIMEZONE

SEED = 42
# Enough for the simulator to keep a national day once the source step generated it (receive
# days and window indexes), and every page of it as served (1.4 GB at scale 1.0).
SIMULATOR_CACHE_MB = 6144
SIMULATOR_PAGE_CACHE_MB = 3072
RESULTS_DIR = REPO_ROOT / "bench" / "results"


def default_day(today: date | None = None) -> date:
    """The last working day (simulator calendar) that ended at least a day before today: a settled window."""
    from simulator.calendar import holidays

    day = (today or datetime.now(TIMEZONE).date()) - timedelta(days=2)
    while day.weekday() >= 5 or day in holidays():
        day -= timedelta(days=1)
    return day


def step_env(work: Path, source: dict[str, str]) -> dict[str, str]:
    """A data directory and a Dagster instance of the run's own, and the simulator to pull from."""
    home = work / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO_ROOT / "config" / "dagster.yaml", home / "dagster.yaml")
    return {**source, "EGOV_DATA_DIR": str(work / "data"), "DAGSTER_HOME": str(home), "EGOV_ALLOW_DEMO_KEY": "1"}


def run_scale_once(work: Path, source: dict, day: str, workers: int, peer: bool) -> dict:
    """Every step once on a fresh data directory; returns {step: measurement}."""
    shutil.rmtree(work, ignore_errors=True)
    env = step_env(work, source)
    on_day = {"day": day, "workers": workers}
    plan = [  # (what it is reported as, step, options)
        # The simulator generates and renders the day, then keeps its pages: reported, not compared.
        ("source", "source", on_day),
        ("floor_fetch", "floor_fetch", on_day),
        ("ingest", "ingest", on_day),
        ("validate", "validate", on_day),
        ("transform", "transform", {}),
        ("publish", "publish", {}),
        ("floor_query", "floor_query", {"day": day}),
    ]
    if peer:
        plan.append(("peer", "peer", {**on_day, "work_dir": str(work / "peer")}))
    steps: dict[str, dict] = {}
    for key, name, options in plan:
        try:
            measurement = measure(name, options, env)
        except StepFailed as failure:
            if key != "peer":
                raise
            print(f"    the peer failed; the run goes on without it: {failure}", flush=True)
            continue
        steps[key] = {**asdict(measurement), "load_average": os.getloadavg()[0]}
        print(f"    {key:<17} {measurement.seconds:8.2f} s  {measurement.peak_rss_mb:8.0f} MiB  "
              f"{report.brief(measurement.result)}", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    return steps


def run_incremental(work: Path, source: dict, day: str, workers: int, histories: list[int], share: int) -> dict:
    """The daily run (dbt build after one more day lands) after each length of history.

    Every history is landed and built first, each in a data directory of its own; then the
    daily runs follow one another, so that whatever else the machine does weighs on them alike
    (a daily run measured right after the national day's teardown was seen 40 % slower)."""
    shutil.rmtree(work, ignore_errors=True)
    previous = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
    histories_built = []
    for n, days in enumerate(histories):
        env = step_env(work / f"history-{n}", source)
        landed = measure("history", {"last_day": previous, "days": days, "share": share, "workers": workers}, env)
        agencies = landed.result["agencies"]  # the same sample for every history
        backfill = measure("transform", {}, env)
        histories_built.append((days, env, landed, backfill))
    runs = []
    for days, env, landed, backfill in histories_built:
        measure("history", {"last_day": day, "days": 1, "share": share, "workers": 1}, env)
        daily = measure("transform", {}, env)
        runs.append({"history_days": days, "history_versions": landed.result["versions"],
                     "landing_seconds": landed.seconds, "backfill_build_seconds": backfill.seconds,
                     "daily_run_seconds": daily.seconds, "daily_run_cpu_seconds": daily.cpu_seconds,
                     "daily_run_peak_rss_mb": daily.peak_rss_mb,
                     "daily_run_model_seconds": daily.result.get("model_seconds"),
                     "daily_run_slowest_models": daily.result.get("slowest_models")})
        print(f"    history {days:>3} days ({landed.result['versions']} versions): backfill build "
              f"{backfill.seconds:.1f} s, daily run {daily.seconds:.1f} s", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    return {"agencies": agencies, "runs": runs}


def parse_incremental(text: str) -> dict[float, list[int]]:
    """"0.01:30,365;0.1:30" -> {0.01: [1, 30, 365], 0.1: [1, 30]} (1 day is always the baseline)."""
    plan = {}
    for part in filter(None, text.split(";")):
        scale, days = part.split(":")
        plan[float(scale)] = [1] + [int(d) for d in days.split(",")]
    return plan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="0.01,0.1,1.0")
    parser.add_argument("--repeats", type=int, default=1,
                        help="runs of each scale below 0.1 (medians reported); larger scales run once")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="as `make run`")
    parser.add_argument("--day", type=date.fromisoformat, default=None, help="default: a recent working day")
    parser.add_argument("--no-peer", dest="peer", action="store_false")
    parser.add_argument("--incremental", default="0.1:30",
                        help="scale:history days,...;... (the 1-day baseline is implied; '' for none)")
    parser.add_argument("--incremental-share", type=int, default=25,
                        help="every Nth agency is in the incremental runs' history")
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench/run"), help="scratch data directories")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    history.add_arguments(parser)
    parser.add_argument("--national-year", action="store_true",
                        help="run the national-year plan (bench.national_year) instead of the scales")
    national_year.add_arguments(parser)
    cluster.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.history:
        os.environ["EGOV_ALLOW_DEMO_KEY"] = "1"
        preload()
        written = history.run(args.work.parent / "history", args.history_scale, args.history_start,
                              args.history_end, SEED, args.out, step_env, args.history_keep)
        print(written[1].read_text(encoding="utf-8"))
        return 0

    if args.cluster:
        os.environ["EGOV_ALLOW_DEMO_KEY"] = "1"
        preload()
        written = cluster.run(args.work.parent / "cluster", [float(s) for s in args.cluster_scales.split(",")],
                              [int(w) for w in args.cluster_workers.split(",")],
                              [int(d) for d in args.cluster_days.split(",")], args.cluster_runs,
                              args.day or default_day(), SEED, args.out, step_env,
                              {"cache_mb": SIMULATOR_CACHE_MB, "page_cache_mb": SIMULATOR_PAGE_CACHE_MB})
        print(written[1].read_text(encoding="utf-8"))
        return 0

    day = (args.day or default_day()).isoformat()
    if args.national_year:
        written = national_year.run(args.work.parent / "national-year", day, args.base_scale, args.replicas,
                                    args.year_days, args.workers, SEED, args.out)
        print(written[1].read_text(encoding="utf-8"))
        return 0
    scales = [float(s) for s in args.scales.split(",") if s]
    incremental = parse_incremental(args.incremental)
    started = datetime.now(TIMEZONE)
    results = {
        "started": started.isoformat(timespec="seconds"),
        "day": day, "seed": SEED, "workers": args.workers,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                                             capture_output=True, text=True).stdout.strip()},
        "load_average_start": os.getloadavg(),
        "scales": [], "incremental": [],
    }
    clock = time.perf_counter()
    from pipelines.__main__ import simulator

    # Every step is forked from this process: its modules imported once, here (the code
    # location reads the demo-key switch when it loads, as each step's environment sets it).
    os.environ["EGOV_ALLOW_DEMO_KEY"] = "1"
    preload()
    results["per_process"] = fixed_costs.per_process()

    def save() -> list[Path]:
        results["seconds"] = round(time.perf_counter() - clock, 1)
        results["load_average_end"] = os.getloadavg()
        return report.write(results, args.out)

    # The national day first (the goals are about it). The results are rewritten after every
    # run, so an interrupted bench still leaves its figures.
    for scale in sorted(set(scales) | set(incremental), reverse=True):
        scale_work = args.work / f"scale-{scale}"
        os.environ["EGOV_DATA_DIR"] = str(scale_work / "simulator")  # where simulator() keeps its port file
        with simulator(SEED, scale, "none", cache_mb=SIMULATOR_CACHE_MB,
                       page_cache_mb=SIMULATOR_PAGE_CACHE_MB) as (base_url, tokens_file):
            source = {"EGOV_SOURCE_URL": base_url, "EGOV_AGENCY_TOKENS_FILE": str(tokens_file)}
            if scale in incremental:
                print(f"scale {scale}, incremental: history of {incremental[scale]} days", flush=True)
                measured = run_incremental(scale_work / "incremental", source, day, args.workers,
                                           incremental[scale], args.incremental_share)
                results["incremental"].append({"scale": scale, **measured})
                written = save()
            if scale in scales:
                repeats = args.repeats if scale < 0.1 else 1
                runs = []
                results["scales"].append({"scale": scale, "runs": runs})
                for n in range(repeats):
                    print(f"scale {scale}, run {n + 1} of {repeats}, day {day}", flush=True)
                    runs.append(run_scale_once(scale_work / f"run-{n + 1}", source, day, args.workers, args.peer))
                    written = save()
        shutil.rmtree(scale_work, ignore_errors=True)
    print(f"\nbench finished in {results['seconds'] / 60:.1f} min; " + ", ".join(str(p) for p in written))
    print(written[1].read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A year of history through the production path, and the daily run after it.

Every agency, 2025-01-01 … 2025-12-31 (across the 1 July 2025 merger), at a small scale, as one
backfill submitted to the instance and run by its daemon (the path a backfill from the UI or
`python -m pipelines backfill` takes: the backfill policy's runs, the instance's pools, the KPI
sensor's build and release), measured as one step (bench.measure: wall, CPU and peak memory of
the whole process tree: the daemon, its runs and dbt). The simulator runs apart; the CPU it
spends serving is read from its process and reported apart. Then the daily run (the next day,
as the schedule's run and the KPI run it triggers) after the year and after one day of history,
each on a data directory of its own: their ratio is the cost of history.

    .venv/bin/python -m bench --history [--history-scale 0.01] [--history-start 2025-01-01 --history-end 2025-12-31]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path


from bench.measure import cpu_seconds, measure, simulator_process
from pipelines.settings import REPO_ROOT, TIMEZONE

GOAL_YEAR_SECONDS = 15 * 60
GOAL_RUNS = 400
GOAL_DAILY_RATIO = 1.2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--history", action="store_true", help="run the year-of-history plan (bench.history) instead")
    parser.add_argument("--history-scale", type=float, default=0.01)
    parser.add_argument("--history-start", type=date.fromisoformat, default=date(2025, 1, 1))
    parser.add_argument("--history-end", type=date.fromisoformat, default=date(2025, 12, 31))
    parser.add_argument("--history-keep", action="store_true",
                        help="leave the plan's data directories in place for offline profiling (landed paths are absolute)")


def _size_mb(folder: Path) -> float:
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20, 1)


def run(work: Path, scale: float, start: date, end: date, seed: int, out: Path, env_for, keep: bool = False) -> list[Path]:
    """The plan; `env_for(folder, source)` gives a step's environment (bench.__main__.step_env)."""
    from pipelines.__main__ import simulator

    shutil.rmtree(work, ignore_errors=True)
    next_day = end + timedelta(days=1)
    results = {
        "plan": "history", "started": datetime.now(TIMEZONE).isoformat(timespec="seconds"), "scale": scale,
        "seed": seed, "first_day": start.isoformat(), "last_day": end.isoformat(), "daily_day": next_day.isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                                             capture_output=True, text=True).stdout.strip()},
        "load_average_start": os.getloadavg(),
    }
    os.environ["EGOV_DATA_DIR"] = str(work / "simulator")  # where simulator() keeps its port file
    with simulator(seed, scale, "none") as (base_url, tokens_file):
        source = {"EGOV_SOURCE_URL": base_url, "EGOV_AGENCY_TOKENS_FILE": str(tokens_file)}
        served_by = simulator_process()
        year_env, day_env = env_for(work / "year", source), env_for(work / "one-day", source)
        served = cpu_seconds(served_by)
        year = measure("orchestrated", {"first": start.isoformat(), "last": end.isoformat()}, year_env)
        results["year"] = {**asdict(year), "simulator_cpu_seconds": round(cpu_seconds(served_by) - served, 2),
                           "data_dir_mb": _size_mb(Path(year_env["EGOV_DATA_DIR"]))}
        print(f"    year: {year.seconds:.0f} s, {year.result['runs']} runs, {year.peak_rss_mb:.0f} MiB", flush=True)
        write(results, out)  # an interrupted plan still leaves the year's figures
        measure("orchestrated", {"first": end.isoformat()}, day_env)  # one day of history
        daily = {}
        for name, env in (("after_one_day", day_env), ("after_year", year_env)):
            measured = measure("orchestrated", {"first": next_day.isoformat()}, env)
            daily[name] = asdict(measured)
            print(f"    daily run {name}: {measured.seconds:.1f} s", flush=True)
        results["daily"] = daily
    results["load_average_end"] = os.getloadavg()
    ratio = daily["after_year"]["seconds"] / daily["after_one_day"]["seconds"]
    cpu_ratio = daily["after_year"]["cpu_seconds"] / daily["after_one_day"]["cpu_seconds"]
    results["goals"] = [
        {"goal": "year through the production path, published", "target": f"<= {GOAL_YEAR_SECONDS} s",
         "measured": results["year"]["seconds"], "met": results["year"]["seconds"] <= GOAL_YEAR_SECONDS},
        {"goal": "runs launched for the year (ingestion + registry + KPI)", "target": f"<= {GOAL_RUNS}",
         "measured": results["year"]["result"]["runs"] + 1, "met": results["year"]["result"]["runs"] + 1 <= GOAL_RUNS},
        {"goal": "daily run after the year / after one day", "target": f"<= {GOAL_DAILY_RATIO}",
         "measured": round(ratio, 3), "cpu": round(cpu_ratio, 3), "met": ratio <= GOAL_DAILY_RATIO},
    ]
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return write(results, out)


def write(results: dict, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromisoformat(results["started"]).strftime("%Y%m%dT%H%M%S")
    json_path, md_path = out / f"{stamp}-history.json", out / f"{stamp}-history.md"
    json_path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    year, daily = results["year"], results.get("daily", {})
    lines = [
        f"# A year of history through the production path ({results['started']}, commit {results['machine']['commit']})",
        "",
        f"Every agency, {results['first_day']} … {results['last_day']}, scale {results['scale']}, seed "
        f"{results['seed']}: one backfill through the instance and its daemon, then the KPI run and release; "
        f"{results['machine']['cpus']} CPUs, load {results['load_average_start'][0]:.2f} at the start.",
        "",
        "| step | wall s | CPU s | peak MiB | runs | agency-days | warehouse MiB |",
        "|---|---|---|---|---|---|---|",
        f"| the year | {year['seconds']:.1f} | {year['cpu_seconds']:.1f} | {year['peak_rss_mb']:.0f} | "
        f"{year['result']['runs']} + 1 KPI | {year['result']['agency_days']:,} | {year['result']['warehouse_mb']} |",
    ]
    for name, label in (("after_one_day", "daily run after one day"), ("after_year", "daily run after the year")):
        if name not in daily:
            continue
        d = daily[name]
        lines.append(f"| {label} | {d['seconds']:.1f} | {d['cpu_seconds']:.1f} | {d['peak_rss_mb']:.0f} | "
                     f"{d['result']['runs']} + 1 KPI | {d['result']['agency_days']} | {d['result']['warehouse_mb']} |")
    for name, label in (("after_one_day", "after one day"), ("after_year", "after the year")):
        if name in daily:
            lines += ["", f"The daily run {label}, run by run (seconds after the backfill's submission; steps' seconds):", ""]
            lines += [f"- {run['job']}: queued {run['queued']}, started {run['started']}, ended {run['ended']}; "
                      + ", ".join(f"{step} {seconds}" for step, seconds in run["steps"].items())
                      for run in daily[name]["result"].get("timeline", [])]
    lines += ["", f"The simulator's own CPU serving the year, apart: {year['simulator_cpu_seconds']} s; "
                  f"the year's data directory: {year['data_dir_mb']} MiB.", "",
              "| goal | target | measured | met |", "|---|---|---|---|"]
    lines += [f"| {g['goal']} | {g['target']} | {g['measured']}{' (CPU ' + str(g['cpu']) + ')' if 'cpu' in g else ''} "
              f"| {'yes' if g['met'] else 'no'} |" for g in results.get("goals", [])]
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [json_path, md_path]

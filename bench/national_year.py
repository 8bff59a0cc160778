"""A national year in the warehouse: dbt over ~365 days of national volume, full build and the daily run.

One national day is landed from the simulator (all agencies, through the source assets, as the
bench's history plan lands days: bench.stages.land_history). A year is then synthesised from it
with DuckDB by shifting that day across the 365 days before it: every timestamp moves by the
shift, and so does the date inside each dossier code (`<agency>-YYMMDD-NNNN`), so codes stay
unique per version (no two versions share a code and an update time) and dates stay consistent;
each shifted day gets a content_sha256 of its own. The files are written in the layout dbt
reads (validated/dossiers, validated/partitions, validated/procedures; date=D/agency=A/...).
If landing a day at scale 1.0 costs too long here, `--base-scale 0.1 --replicas 10` lands a
0.1 day and writes each of its versions ten times (codes suffixed), and the results say so.

Then, each in a process of its own (bench.measure: wall time, CPU and peak memory of the
whole process tree, dbt included), through the dbt asset as the bench's transform step:
- after one day: the full build, then one more day appended and the daily incremental run;
- after the year: the full build, then one more day appended and the daily incremental run;
with the warehouse's size and the rows of the dossier-interval table after each. Results go
to bench/results/<stamp>-national-year.json and .md.

    .venv/bin/python -m bench.national_year [--base-scale 1.0] [--replicas 1] [--days 365]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path

import duckdb

from pipelines.settings import REPO_ROOT, TIMEZONE

RESULTS_DIR = REPO_ROOT / "bench" / "results"
GOAL_MEMORY_MIB = 24 * 1024
GOAL_DAILY_RATIO = 2.0
# Every timestamp of a dossier version moves with its day.
TIMESTAMPS = ("updated_at", "submitted_at", "accepted_at", "due_at", "extended_due_at", "ended_at", "returned_at")
FILES = {"dossiers": "dossiers.parquet", "partitions": "partition.parquet", "procedures": "procedures.parquet"}


def shifted_dossiers_sql(base: Path, offset: int, replicas: int) -> str:
    """The base day's versions as they would read `offset` days later (replica r: code suffixed)."""
    shift = f"interval ({offset}) day"
    moved = ", ".join(f"{c} + {shift} as {c}" for c in TIMESTAMPS)
    code = (
        "regexp_extract(dossier_code, '^(.*)-[0-9]{6}-[0-9]+$', 1) || '-'"
        f" || strftime(strptime(regexp_extract(dossier_code, '-([0-9]{{6}})-[0-9]+$', 1), '%y%m%d') + {shift}, '%y%m%d')"
        " || '-' || regexp_extract(dossier_code, '-([0-9]+)$', 1)"
        " || case when replica = 0 then '' else 'r' || replica end"
    )
    return (
        f"select * exclude (replica, agency, date) replace ({moved}, {code} as dossier_code,"
        f" cast(day + {shift} as date) as day),"
        f" agency_code as agency, cast(day + {shift} as date) as date"
        f" from read_parquet('{base}/validated/dossiers/*/*/dossiers.parquet', hive_partitioning = true)"
        f" cross join range({replicas}) as replicas (replica)"
    )


def shifted_partitions_sql(base: Path, offset: int, replicas: int) -> str:
    """The base day's partition rows for the shifted day: a content_sha256 of its own, counts × replicas."""
    shift = f"interval ({offset}) day"
    counts = ", ".join(f"{c} * {replicas} as {c}" for c in ("source_total", "received", "landed", "quarantined", "duplicates"))
    return (
        f"select * replace (cast(day + {shift} as date) as day, {counts},"
        f" sha256(content_sha256 || ':{offset}:{replicas}') as content_sha256),"
        f" agency_code as agency, cast(day + {shift} as date) as date"
        f" from read_parquet('{base}/validated/partitions/*/*/partition.parquet', hive_partitioning = false)"
    )


def shifted_procedures_sql(base: Path, offset: int) -> str:
    shift = f"interval ({offset}) day"
    return (
        f"select * replace (cast(day + {shift} as date) as day), agency_code as agency, cast(day + {shift} as date) as date"
        f" from read_parquet('{base}/validated/procedures/*/*/procedures.parquet', hive_partitioning = false)"
    )


def write_day(con: duckdb.DuckDBPyConnection, base: Path, data: Path, offset: int, replicas: int) -> None:
    """One shifted day into `data`/validated in the landed layout (date=D/agency=A/<file>)."""
    queries = {"dossiers": shifted_dossiers_sql(base, offset, replicas),
               "partitions": shifted_partitions_sql(base, offset, replicas),
               "procedures": shifted_procedures_sql(base, offset)}
    for table, query in queries.items():
        root = data / "validated" / table
        root.mkdir(parents=True, exist_ok=True)
        stem = FILES[table].removesuffix(".parquet")
        con.execute(f"copy ({query}) to '{root}' (format parquet, partition_by (date, agency),"
                    f" filename_pattern '{stem}', overwrite_or_ignore)")
        # DuckDB numbers the files it writes (dossiers0.parquet): the layout dbt reads has one name.
        for written in root.glob(f"date=*/agency=*/{stem}0.parquet"):
            written.rename(written.with_name(FILES[table]))


def synthesise(base: Path, data: Path, offsets: list[int], replicas: int) -> dict:
    """The shifted days `offsets` (relative to the base day) into `data`; returns what was written."""
    (data / "raw").mkdir(parents=True, exist_ok=True)
    if not (data / "raw" / "agencies").exists():
        shutil.copytree(base / "raw" / "agencies", data / "raw" / "agencies")
    started = time.perf_counter()
    with duckdb.connect() as con:
        for offset in offsets:
            write_day(con, base, data, offset, replicas)
        versions = con.execute(
            f"select count(*) from read_parquet('{data}/validated/dossiers/*/*/dossiers.parquet')").fetchone()[0]
    return {"days": len(offsets), "versions": versions, "seconds": round(time.perf_counter() - started, 1)}


def warehouse_figures(data: Path) -> dict:
    """Size of the warehouse file (and its WAL) and the rows of the tables that grow with history."""
    path = data / "warehouse" / "kpi.duckdb"
    size = sum(p.stat().st_size for p in (path, path.with_name(path.name + ".wal")) if p.exists())
    with duckdb.connect(str(path), read_only=True) as con:
        rows = {t: con.execute(f"select count(*) from {t}").fetchone()[0]
                for t in ("int_dossier_state_intervals", "int_kpi_agency_daily", "kpi_processed_records")}
    return {"warehouse_mib": round(size / 2**20, 1), "rows": rows}


def measured(step: dict) -> dict:
    return {k: step[k] for k in ("seconds", "cpu_seconds", "peak_rss_mb")} | {
        "model_seconds": step["result"].get("model_seconds"), "slowest_models": step["result"].get("slowest_models")}


def history_then_daily(data: Path, base: Path, days: int, replicas: int, env: dict) -> dict:
    """`days` shifted days ending the day before the base day, the full build; then the base day
    itself appended (shift 0) and the daily incremental run."""
    from bench.measure import measure

    shutil.rmtree(data, ignore_errors=True)
    (data / "warehouse").mkdir(parents=True)
    landed = synthesise(base, data, list(range(-days, 0)), replicas)
    print(f"    {days} days synthesised: {landed['versions']:,} versions in {landed['seconds']} s", flush=True)
    full = asdict(measure("transform", {}, env))
    after_full = warehouse_figures(data)
    print(f"    full build {full['seconds']:.1f} s, {full['peak_rss_mb']:.0f} MiB; {after_full}", flush=True)
    synthesise(base, data, [0], replicas)
    daily = asdict(measure("transform", {}, env))
    after_daily = warehouse_figures(data)
    print(f"    daily run {daily['seconds']:.1f} s, {daily['peak_rss_mb']:.0f} MiB; {after_daily}", flush=True)
    return {"history_days": days, "history_versions": landed["versions"], "synthesis_seconds": landed["seconds"],
            "full_build": measured(full), "after_full_build": after_full,
            "daily_run": measured(daily), "after_daily_run": after_daily}


def land_base(work: Path, day: str, scale: float, workers: int, seed: int) -> tuple[Path, dict]:
    """One national day from the simulator at `scale`, every agency, into `work`/data."""
    from bench.__main__ import SIMULATOR_CACHE_MB, SIMULATOR_PAGE_CACHE_MB, step_env
    from bench.measure import measure
    from pipelines.__main__ import simulator

    shutil.rmtree(work, ignore_errors=True)
    os.environ["EGOV_DATA_DIR"] = str(work / "simulator")  # where simulator() keeps its port file
    with simulator(seed, scale, "none", cache_mb=SIMULATOR_CACHE_MB, page_cache_mb=SIMULATOR_PAGE_CACHE_MB) as (url, tokens):
        env = step_env(work, {"EGOV_SOURCE_URL": url, "EGOV_AGENCY_TOKENS_FILE": str(tokens)})
        landed = measure("history", {"last_day": day, "days": 1, "share": 1, "workers": workers}, env)
    return work / "data", {"seconds": landed.seconds, "versions": landed.result["versions"],
                           "agencies": len(landed.result["agencies"])}


def markdown(results: dict) -> str:
    year, one = results["year"], results["one_day"]
    base = results["base_day"]
    lines = [
        f"# National year in the warehouse, {results['started']}",
        "",
        f"Base day {results['day']}: {base['versions']:,} versions from the simulator at scale {results['base_scale']}"
        + (f", each written {results['replicas']} times (dossier codes suffixed) to stand for scale 1.0"
           if results["replicas"] > 1 else "")
        + f", {base['agencies']} agencies, landed in {base['seconds']:.0f} s. The year: that day shifted across the "
        f"{year['history_days']} days before it ({year['history_versions']:,} versions; codes and dates rewritten). "
        f"{results['machine']['cpus']} CPUs, commit {results['machine']['commit']}; "
        f"load average {results['load_average_start'][0]:.1f} at start, {results['load_average_end'][0]:.1f} at end.",
        "",
        "## Goals",
        "",
        "| goal | target | measured | met |",
        "|---|---|---|---|",
    ]
    for goal in results["goals"]:
        lines.append(f"| {goal['goal']} | {goal['target']} | {goal['measured']} | {'yes' if goal['met'] else 'no'} |")
    lines += ["", "| history | versions | full build s | full build CPU s | full build peak MiB | warehouse MiB after"
              " | interval rows | daily run s | daily run CPU s | daily run peak MiB | warehouse MiB after daily |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for run in (one, year):
        full, daily = run["full_build"], run["daily_run"]
        lines.append(
            f"| {run['history_days']} days | {run['history_versions']:,} | {full['seconds']:.1f} | {full['cpu_seconds']:.1f}"
            f" | {full['peak_rss_mb']:.0f} | {run['after_full_build']['warehouse_mib']:,} |"
            f" {run['after_full_build']['rows']['int_dossier_state_intervals']:,} | {daily['seconds']:.1f}"
            f" | {daily['cpu_seconds']:.1f} | {daily['peak_rss_mb']:.0f} | {run['after_daily_run']['warehouse_mib']:,} |")
    lines += ["", "Slowest models of the year's daily run: "
              + ", ".join(f"{k} {v}" for k, v in (year["daily_run"]["slowest_models"] or {}).items()), ""]
    return "\n".join(lines)


def goals(results: dict) -> list[dict]:
    year, one = results["year"], results["one_day"]
    peak = max(year["full_build"]["peak_rss_mb"], year["daily_run"]["peak_rss_mb"])
    ratio = round(year["daily_run"]["seconds"] / one["daily_run"]["seconds"], 3)
    return [
        {"goal": "the national year builds within the machine's memory (MiB, process tree)", "target": f"<= {GOAL_MEMORY_MIB}",
         "measured": peak, "met": peak <= GOAL_MEMORY_MIB},
        {"goal": "daily run after the year / daily run after one day", "target": f"<= {GOAL_DAILY_RATIO}",
         "measured": ratio, "met": ratio <= GOAL_DAILY_RATIO},
    ]


def run(work: Path, day: str, base_scale: float, replicas: int, days: int, workers: int, seed: int, out: Path) -> list[Path]:
    """The whole plan; returns the results files written."""
    from bench.__main__ import step_env
    from bench.step import preload

    started = datetime.now(TIMEZONE)
    results = {
        "started": started.isoformat(timespec="seconds"), "plan": "national_year", "day": day, "seed": seed,
        "base_scale": base_scale, "replicas": replicas,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                                             capture_output=True, text=True).stdout.strip()},
        "load_average_start": os.getloadavg(),
    }
    clock = time.perf_counter()
    os.environ["EGOV_ALLOW_DEMO_KEY"] = "1"
    preload()
    print(f"national year: landing the base day {day} at scale {base_scale}", flush=True)
    base, results["base_day"] = land_base(work / "base", day, base_scale, workers, seed)
    for key, history in (("one_day", 1), ("year", days)):
        print(f"national year: {history} days of history", flush=True)
        data = work / key
        env = step_env(data.parent / f"{key}-home", {})
        env["EGOV_DATA_DIR"] = str(data)
        results[key] = history_then_daily(data, base, history, replicas, env)
        shutil.rmtree(data, ignore_errors=True)
    results["goals"] = goals(results)
    results["seconds"] = round(time.perf_counter() - clock, 1)
    results["load_average_end"] = os.getloadavg()
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"{started.strftime('%Y%m%dT%H%M%S')}-national-year"
    paths = [stem.with_suffix(".json"), stem.with_suffix(".md")]
    paths[0].write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    paths[1].write_text(markdown(results), encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)
    return paths


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-scale", type=float, default=1.0, help="scale of the landed day (1.0: national)")
    parser.add_argument("--replicas", type=int, default=1, help="write each version this many times (0.1 × 10)")
    parser.add_argument("--year-days", type=int, default=365, help="days of synthesised history")


def main(argv: list[str] | None = None) -> int:
    from bench.__main__ import SEED, default_day

    parser = argparse.ArgumentParser(prog="python -m bench.national_year", description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.add_argument("--day", type=date.fromisoformat, default=None, help="the base day (default: a recent working day)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench/national-year"))
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    day = (args.day or default_day()).isoformat()
    written = run(args.work, day, args.base_scale, args.replicas, args.year_days, args.workers, SEED, args.out)
    print(written[1].read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

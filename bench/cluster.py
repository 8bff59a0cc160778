"""The cluster's capacity: agency-days and dossier versions per second, per Celery worker, with
1 and 2 workers, at scales 0.1 and 1.0 (`python -m bench --cluster`).

For each scale the simulator runs apart (its own process, outside every measured tree; the CPU
it spends serving is read from it and reported apart). For each worker count one step
(bench.measure: wall, CPU and peak memory of the whole process tree) starts the topology of
`make cluster` without the webserver (pipelines/cluster/topology.py: PostgreSQL, Redis, the
workers, the daemon) on a fresh data directory, submits `days` days of every agency as one
backfill through the instance (pipelines/orchestration.py), and times apart the ingestion (from
the submission to the end of the backfill's last run: the work more workers share) and the KPI
run (dbt and the release: one writer, whatever the workers). Each worker's own process tree
is sampled for its peak memory. Each scale's days are cut into `--cluster-runs` ingestion runs
(2: one for each of two workers) through `EGOV_DAYS_PER_RUN`, as a deployment would set it; the
default days (14 at 0.1, 2 at 1.0: a national day is 1.2 million versions) keep the plan under
an hour here. Results: bench/results/<stamp>-cluster.json and .md.

    .venv/bin/python -m bench --cluster [--cluster-scales 0.1,1.0] [--cluster-workers 1,2] [--cluster-days 14,2]
        [--cluster-runs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import threading
import time
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path

import psutil

from bench.measure import cpu_seconds, measure, simulator_process, tree_rss
from pipelines.defs.partitions import DAYS_PER_RUN_ENV
from pipelines.settings import REPO_ROOT, TIMEZONE, data_dir

SAMPLE_SECONDS = 0.5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cluster", action="store_true", help="run the cluster capacity plan (bench.cluster) instead")
    parser.add_argument("--cluster-scales", default="0.1,1.0")
    parser.add_argument("--cluster-workers", default="1,2")
    parser.add_argument("--cluster-days", default="14,2",
                        help="days ending on --day, every agency: one figure, or one per scale")
    parser.add_argument("--cluster-runs", type=int, default=2, help="ingestion runs each scale's days are cut into")


def capacity(workers: int, first: str, last: str) -> dict:
    """The bench step: the topology with `workers` workers, one backfill of first … last, the KPI run."""
    import dagster as dg
    import duckdb

    from pipelines.cluster.topology import cluster
    from pipelines.definitions import defs
    from pipelines.defs.schedules import RANGE_START_TAG
    from pipelines.defs.sensors import BACKFILL_TAG
    from pipelines.lib import paths
    from pipelines.lib.agency_days import date_range
    from pipelines.orchestration import submit_backfill, wait_for_backfill

    days = date_range(date.fromisoformat(first), date.fromisoformat(last))
    with cluster(workers) as up, dg.DagsterInstance.get() as instance:
        peaks = {name: 0 for name in up.workers()}
        done = threading.Event()

        def sample() -> None:
            while not done.wait(SAMPLE_SECONDS):
                for name, process in up.workers().items():
                    try:
                        peaks[name] = max(peaks[name], tree_rss(psutil.Process(process.pid)))
                    except psutil.Error:
                        pass

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        submitted = time.time()
        backfill_id = submit_backfill(instance, defs, days, title=f"bench cluster, {workers} worker(s)")
        report = wait_for_backfill(instance, backfill_id, days)
        done.set()
        sampler.join()
        runs = instance.get_runs(filters=dg.RunsFilter(tags={BACKFILL_TAG: backfill_id}))
        stats = {r.run_id: instance.get_run_stats(r.run_id) for r in runs}
        ingest_end = max(s.end_time or submitted for s in stats.values())
        # How many ingestion runs called the agencies at once, across the workers (the agency_api pool's bound).
        ingestion = [r for r in runs if RANGE_START_TAG in r.tags]  # the registry run has no days
        spans = [(stats[r.run_id].start_time, stats[r.run_id].end_time) for r in ingestion if stats[r.run_id].start_time]
        at_once = max(sum(start <= t < (end or t + 1) for start, end in spans) for t, _ in spans)
        (kpi,) = instance.get_runs(filters=dg.RunsFilter(job_name="kpi_job"))
        kpi_stats = instance.get_run_stats(kpi.run_id)
    if not report.kpi_ok:
        raise RuntimeError(f"the KPI run after backfill {backfill_id} failed; left out: {report.failed[:10]}")
    files = paths.validated_dossiers_root() / "*" / "*" / paths.DOSSIERS_FILE
    versions = duckdb.sql(f"select count(*) from read_parquet('{files}')").fetchall()[0][0]
    ingest_seconds = ingest_end - submitted
    return {"workers": workers, "days": len(days), "agency_days": report.agency_days - len(report.failed),
            "failed": report.failed, "versions": versions,
            "ingestion_runs": len(ingestion), "failed_runs": report.failed_runs,
            "ingestion_runs_at_once": at_once, "stored_mb": stored_mb(data_dir(), ("raw", "quarantine", "validated")),
            "warehouse_mb": stored_mb(data_dir(), ("warehouse",)),
            "ingest_seconds": round(ingest_seconds, 1), "kpi_seconds": round(kpi_stats.end_time - kpi_stats.start_time, 1),
            "worker_peak_rss_mb": {name: round(peak / 2**20) for name, peak in peaks.items()}}


def stored_mb(root: Path, folders: tuple[str, ...]) -> float:
    """MiB stored in `folders` of `root`, a file linked twice counted once (validated/ links to raw/)."""
    seen, total = set(), 0
    for folder in folders:
        for path in (root / folder).rglob("*"):
            info = path.stat()
            if path.is_file() and (info.st_dev, info.st_ino) not in seen:
                seen.add((info.st_dev, info.st_ino))
                total += info.st_size
    return round(total / 2**20, 1)


def run(work: Path, scales: list[float], worker_counts: list[int], days: list[int], runs: int, last_day: date,
        seed: int, out: Path, env_for, simulator_options: dict) -> list[Path]:
    """The plan; `env_for(folder, source)` gives a step's environment (bench.__main__.step_env);
    `days`: one figure for every scale, or one per scale."""
    from pipelines.__main__ import simulator

    if len(days) not in (1, len(scales)):
        raise ValueError(f"--cluster-days: one figure or one per scale ({len(scales)}), not {len(days)}")
    days_by_scale = dict(zip(scales, days * len(scales) if len(days) == 1 else days))
    results = {
        "plan": "cluster", "started": datetime.now(TIMEZONE).isoformat(timespec="seconds"), "seed": seed,
        "last_day": last_day.isoformat(), "runs_per_scale": runs,
        "machine": {"cpus": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30),
                    "python": platform.python_version(),
                    "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                                             capture_output=True, text=True).stdout.strip()},
        "load_average_start": os.getloadavg(), "runs": [],
    }
    shutil.rmtree(work, ignore_errors=True)
    for scale in scales:
        first_day = last_day - timedelta(days=days_by_scale[scale] - 1)
        days_per_run = -(-days_by_scale[scale] // runs)
        os.environ["EGOV_DATA_DIR"] = str(work / f"scale-{scale}" / "simulator")  # simulator()'s port file
        with simulator(seed, scale, "none", **simulator_options) as (base_url, tokens_file):
            source = {"EGOV_SOURCE_URL": base_url, "EGOV_AGENCY_TOKENS_FILE": str(tokens_file)}
            served = simulator_process()
            for workers in worker_counts:
                before = cpu_seconds(served)
                env = {**env_for(work / f"scale-{scale}" / f"workers-{workers}", source),
                       DAYS_PER_RUN_ENV: str(days_per_run)}
                measured = measure("cluster", {"workers": workers, "first": first_day.isoformat(),
                                               "last": last_day.isoformat()}, env)
                results["runs"].append({"scale": scale, "first_day": first_day.isoformat(),
                                        "days_per_run": days_per_run, **asdict(measured), "load_average": os.getloadavg()[0],
                                        "simulator_cpu_seconds": round(cpu_seconds(served) - before, 1)})
                print(f"    scale {scale}, {workers} worker(s): ingestion {measured.result['ingest_seconds']} s, "
                      f"KPI run {measured.result['kpi_seconds']} s", flush=True)
                write(results, out)  # an interrupted plan leaves what it measured
                shutil.rmtree(env["EGOV_DATA_DIR"], ignore_errors=True)
    results["load_average_end"] = os.getloadavg()
    shutil.rmtree(work, ignore_errors=True)
    return write(results, out)


def figures(entry: dict) -> dict:
    """Rates of one measurement: per second of ingestion, and per worker."""
    r = entry["result"]
    seconds, workers = r["ingest_seconds"], r["workers"]
    return {"agency_days_per_second": round(r["agency_days"] / seconds, 3),
            "agency_days_per_second_per_worker": round(r["agency_days"] / seconds / workers, 3),
            "versions_per_second": round(r["versions"] / seconds),
            "versions_per_second_per_worker": round(r["versions"] / seconds / workers)}


def write(results: dict, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromisoformat(results["started"]).strftime("%Y%m%dT%H%M%S")
    json_path, md_path = out / f"{stamp}-cluster.json", out / f"{stamp}-cluster.md"
    for entry in results["runs"]:
        entry["figures"] = figures(entry)
    json_path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    machine = results["machine"]
    lines = [
        f"# The cluster's capacity ({results['started']}, commit {machine['commit']})",
        "",
        f"Every agency, the days ending on {results['last_day']}, seed {results['seed']}: one backfill through "
        f"the instance cut into {results['runs_per_scale']} ingestion runs, run by Celery workers (`make cluster`'s "
        f"topology), then the KPI run; {machine['cpus']} CPUs, "
        f"{machine['memory_gib']} GiB, load {results['load_average_start'][0]:.2f} at the start. Ingestion s: from "
        "the submission to the end of the backfill's last run (the registry run included).",
        "",
        "| scale | days | workers | agency-days | versions | ingestion runs (at once) | ingestion s | agency-days/s "
        "| per worker | versions/s | per worker | KPI run s | peak MiB per worker | tree peak MiB | tree CPU s "
        "| simulator CPU s | landed MiB | warehouse MiB | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for entry in results["runs"]:
        r, f = entry["result"], entry["figures"]
        lines.append(
            f"| {entry['scale']} | {r['days']} | {r['workers']} | {r['agency_days']:,} | {r['versions']:,} | {r['ingestion_runs']} "
            f"({r['ingestion_runs_at_once']}) | {r['ingest_seconds']} | {f['agency_days_per_second']} | "
            f"{f['agency_days_per_second_per_worker']} | {f['versions_per_second']:,} | "
            f"{f['versions_per_second_per_worker']:,} | {r['kpi_seconds']} | {max(r['worker_peak_rss_mb'].values())} | "
            f"{entry['peak_rss_mb']:.0f} | {entry['cpu_seconds']} | {entry['simulator_cpu_seconds']} | "
            f"{r['stored_mb']} | {r['warehouse_mb']} | {entry['load_average']:.2f} |")
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [json_path, md_path]

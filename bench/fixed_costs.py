"""What a run pays whatever the data: told apart from the work that grows with it.

A KPI run's dbt build is cut into dbt's start (Python and dbt's imports, before dbt's
invocation begins), its parse (manifest, graph, relation cache), its nodes (the models and
tests, on dbt's threads) and its end (artifacts written); the rest of the step is Dagster's
(dagster-dbt turning dbt's events into materializations and check results, and storing them).
The code location's load and Great Expectations' import are paid by every run's process (a run
launched by the daemon is a process of its own); the bench's steps are forked from a process
that loaded the code location once, so that load is measured here, apart.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from pipelines.settings import REPO_ROOT

DBT_STARTED, DBT_FINISHED = "Running dbt command:", "Finished dbt command:"  # dagster-dbt's log lines


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def dbt_phases(run_results: dict, started: float, finished: float, step_seconds: float) -> dict:
    """A build's seconds by phase, from dbt's run_results.json and the Unix times dagster-dbt
    logged the dbt process starting and finishing. The tests' time is a sum over dbt's threads."""
    meta = run_results["metadata"]
    invocation, generated = _epoch(meta["invocation_started_at"]), _epoch(meta["generated_at"])
    nodes = run_results["elapsed_time"]
    tests = sum(r["execution_time"] for r in run_results["results"] if r["unique_id"].startswith("test."))
    process = finished - started
    return {key: round(value, 3) for key, value in {
        "dbt_process_seconds": process,
        "dbt_start_seconds": invocation - started,
        "dbt_parse_seconds": generated - invocation - nodes,
        "dbt_nodes_seconds": nodes,
        "dbt_end_seconds": finished - generated,
        "dbt_test_seconds": tests,
        "dagster_in_step_seconds": step_seconds - process,
    }.items()}


def build_phases(logs: list, target: Path, step_seconds: float) -> dict:
    """`dbt_phases` of the build a run's event log and its target folder describe; {} without one."""
    times = {}
    for entry in logs:
        for mark in (DBT_STARTED, DBT_FINISHED):
            if entry.user_message.startswith(mark):
                times[mark] = entry.timestamp
    results = target / "run_results.json"
    if len(times) < 2 or not results.exists():
        return {}
    return dbt_phases(json.loads(results.read_text(encoding="utf-8")), times[DBT_STARTED], times[DBT_FINISHED],
                      step_seconds)


def import_seconds(module: str, after: str | None = None) -> float:
    """Seconds a fresh Python takes to import `module` (once `after` is imported, if given)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    if after:
        code = f"import {after}; " + code
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True,
                         timeout=300)
    return round(float(out.stdout.strip().splitlines()[-1]), 3)


def per_process() -> dict:
    """What every run's process pays before any work: the code location, and Great Expectations."""
    started = time.perf_counter()
    figures = {"code_location_seconds": import_seconds("pipelines.definitions"),
               "great_expectations_import_seconds": import_seconds("great_expectations", after="pipelines.definitions")}
    figures["seconds"] = round(time.perf_counter() - started, 3)
    return figures

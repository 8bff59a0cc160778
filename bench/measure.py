"""Run one benchmark step in a process of its own: wall time and peak memory of that step only.

Peak memory is the largest sum of resident memory over the step's whole process tree (its
worker processes and the dbt subprocess included), sampled every 100 ms (finer sampling
costs a few per cent of a core). The simulator runs in a process of its own, outside every
tree measured here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from pipelines.settings import REPO_ROOT

SAMPLE_SECONDS = 0.1


class StepFailed(RuntimeError):
    pass


@dataclass
class Measurement:
    step: str
    seconds: float  # the step's own work, timed inside it (after its imports)
    process_seconds: float  # the whole process, interpreter start and imports included
    peak_rss_mb: float
    cpu_seconds: float  # user + system, the whole process tree, imports included
    result: dict = field(default_factory=dict)


def tree_rss(process: psutil.Process) -> int:
    """Resident bytes of a process and all its descendants (those that exit mid-read count 0)."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            pass
    return total


def measure(step: str, options: dict, env: dict[str, str]) -> Measurement:
    """`python -m bench.step <step>` with its options as JSON; fails naming the step and its log."""
    with tempfile.TemporaryDirectory(prefix="bench-step-") as scratch:
        out, log = Path(scratch) / "result.json", Path(scratch) / "step.log"
        command = [sys.executable, "-m", "bench.step", step, json.dumps(options), str(out)]
        peak = 0
        with open(log, "wb") as log_file:
            started = time.perf_counter()
            process = psutil.Popen(command, cwd=REPO_ROOT, env={**os.environ, **env},
                                   stdout=log_file, stderr=subprocess.STDOUT)
            while process.poll() is None:
                try:
                    peak = max(peak, tree_rss(process))
                except psutil.Error:
                    pass
                time.sleep(SAMPLE_SECONDS)
            process_seconds = time.perf_counter() - started
        if process.returncode != 0 or not out.exists():
            tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise StepFailed(f"bench step {step} {options} exited {process.returncode}:\n{tail}")
        result = json.loads(out.read_text(encoding="utf-8"))
    return Measurement(step, result.pop("seconds"), round(process_seconds, 3), round(peak / 2**20, 1),
                       result.pop("cpu_seconds"), result)

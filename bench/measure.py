"""Run one benchmark step in a process of its own: wall time and peak memory of that step only.

The process is forked from the bench once it has imported the steps' modules (bench.step),
so it starts as a fresh process would after its imports, without paying them again. Peak
memory is the largest sum of resident memory over the step's whole process tree (its worker
processes and the dbt subprocess included), sampled every 100 ms (finer sampling costs a few
per cent of a core). The simulator runs in a process of its own, outside every tree measured
here.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import psutil

from pipelines.settings import REPO_ROOT

SAMPLE_SECONDS = 0.1


class StepFailed(RuntimeError):
    pass


@dataclass
class Measurement:
    step: str
    seconds: float  # the step's own work, timed inside it
    process_seconds: float  # the whole process, from fork to exit
    peak_rss_mb: float
    cpu_seconds: float  # user + system, the whole process tree
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


def simulator_process() -> psutil.Process:
    """The simulator this bench process started (pipelines.__main__.simulator): its CPU is reported apart."""
    return next(p for p in psutil.Process().children() if "simulator" in " ".join(p.cmdline()))


def cpu_seconds(process: psutil.Process) -> float:
    """User + system CPU of one process so far."""
    times = process.cpu_times()
    return times.user + times.system


def measure(step: str, options: dict, env: dict[str, str]) -> Measurement:
    """`step` with its options in a forked process with `env`; fails naming the step and its log."""
    with tempfile.TemporaryDirectory(prefix="bench-step-") as scratch:
        out, log = Path(scratch) / "result.json", Path(scratch) / "step.log"
        sys.stdout.flush()
        sys.stderr.flush()
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            _run_child(step, options, env, out, log)
        process, peak = psutil.Process(pid), 0
        while not (waited := os.waitpid(pid, os.WNOHANG))[0]:
            try:
                peak = max(peak, tree_rss(process))
            except psutil.Error:
                pass
            time.sleep(SAMPLE_SECONDS)
        status = os.waitstatus_to_exitcode(waited[1])
        process_seconds = time.perf_counter() - started
        if status != 0 or not out.exists():
            tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise StepFailed(f"bench step {step} {options} exited {status}:\n{tail}")
        result = json.loads(out.read_text(encoding="utf-8"))
    return Measurement(step, result.pop("seconds"), round(process_seconds, 3), round(peak / 2**20, 1),
                       result.pop("cpu_seconds"), result)


def _run_child(step: str, options: dict, env: dict[str, str], out: Path, log: Path) -> NoReturn:
    """In the forked process: its output to the step's log, its environment, the step; never returns."""
    code = 1
    try:
        descriptor = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(descriptor, 1)
        os.dup2(descriptor, 2)
        os.environ.update(env)
        os.chdir(REPO_ROOT)
        from bench import step as steps

        steps.run(step, options, str(out))
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)

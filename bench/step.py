"""The benchmark steps: each runs in a process of its own, forked by bench.measure.

The bench imports every step's module once (`preload`: the code location, Dagster, dbt's
adapter, the floor) before the first fork, so a step pays no imports, as a long-running
pipeline process pays them once, not per stage; its process still holds them in memory, as a
fresh one would after its imports.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import resource
import time

import psutil

# step name -> "module:function"; every function takes the options as keywords and returns a dict.
STEPS = {
    "source": "bench.stages:source",
    "ingest": "bench.stages:ingest",
    "validate": "bench.stages:validate",
    "transform": "bench.stages:transform",
    "publish": "bench.stages:publish",
    "orchestrated": "bench.stages:orchestrated",
    "floor_fetch": "bench.floor:fetch",
    "floor_query": "bench.floor:kpi_query",
    "peer": "bench.peer:load",
    "history": "bench.stages:land_history",
    "cluster": "bench.cluster:capacity",
}


def preload() -> None:
    """Import every step's module, once, in the bench process (the peer's dlt stays lazy: it is the peer's own)."""
    for target in STEPS.values():
        importlib.import_module(target.split(":")[0])


PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h
ORPHANS_SECONDS = 60


def run(name: str, options: dict, out: str) -> None:
    """Run one step and write its result, its time and the CPU it used to `out` (JSON)."""
    module_name, function_name = STEPS[name].split(":")
    function = getattr(importlib.import_module(module_name), function_name)
    adopt_orphans()
    started = time.perf_counter()
    result = function(**options)
    # A step that has set-up of its own times its work itself.
    result.setdefault("seconds", round(time.perf_counter() - started, 3))
    result["left_running"] = reap_descendants()
    # CPU of the step's process and of every process under it (workers, the daemon's code
    # servers and run workers, dbt): how busy it kept the cores. A forked process starts with none.
    used = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    result["cpu_seconds"] = round(sum(u.ru_utime + u.ru_stime for u in used), 2)
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(result, fh)


def adopt_orphans() -> None:
    """Make this process the reaper of every orphan under it (Linux), so that their CPU counts.

    A child's CPU reaches RUSAGE_CHILDREN only when its parent waits for it. The daemon's code
    server starts the run workers, and a process that exits without waiting for its children
    leaves them to init: their CPU (the runs themselves) was lost from the step's figure.
    """
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def reap_descendants() -> list[str]:
    """Wait (bounded) for every process still under this one, reaping each; returns those left running."""
    deadline = time.monotonic() + ORPHANS_SECONDS
    while True:
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            return []  # none left
        alive = psutil.Process().children(recursive=True)
        if not alive or time.monotonic() > deadline:
            return [" ".join(p.cmdline())[:200] for p in alive if p.is_running()]
        time.sleep(0.2)

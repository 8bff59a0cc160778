"""The benchmark steps: each runs in a process of its own, forked by bench.measure.

The bench imports every step's module once (`preload`: the code location, Dagster, dbt's
adapter, the floor) before the first fork, so a step pays no imports, as a long-running
pipeline process pays them once, not per stage; its process still holds them in memory, as a
fresh one would after its imports.
"""

from __future__ import annotations

import importlib
import json
import resource
import time

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


def run(name: str, options: dict, out: str) -> None:
    """Run one step and write its result, its time and the CPU it used to `out` (JSON)."""
    module_name, function_name = STEPS[name].split(":")
    function = getattr(importlib.import_module(module_name), function_name)
    started = time.perf_counter()
    result = function(**options)
    # A step that has set-up of its own times its work itself.
    result.setdefault("seconds", round(time.perf_counter() - started, 3))
    # CPU of the step's process and the children it waited for (workers, dbt): how busy it kept
    # the cores. A forked process starts with none counted.
    used = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    result["cpu_seconds"] = round(sum(u.ru_utime + u.ru_stime for u in used), 2)
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(result, fh)

"""`python -m bench.step NAME OPTIONS_JSON OUT`: one benchmark step, in the process bench.measure watches.

The step's module is imported first, then only its work is timed: a long-running pipeline
process pays its imports once, not per stage.
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
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
}


def main(argv: list[str]) -> int:
    name, options, out = argv[0], json.loads(argv[1]), argv[2]
    module_name, function_name = STEPS[name].split(":")
    function = getattr(importlib.import_module(module_name), function_name)
    started = time.perf_counter()
    result = function(**options)
    # A step that has set-up of its own times its work itself.
    result.setdefault("seconds", round(time.perf_counter() - started, 3))
    # CPU of the step's process and the children it waited for (workers, dbt): how busy it kept the cores.
    used = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    result["cpu_seconds"] = round(sum(u.ru_utime + u.ru_stime for u in used), 2)
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

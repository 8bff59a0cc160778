"""A bench step's CPU counts every process under it, orphans included: the daemon's code
servers start the run workers, and a process that exits without waiting for its children used
to take their CPU out of the figure."""

import subprocess
import sys

from bench import step
from bench.measure import measure

BURN = "import time\nstart = time.process_time()\nwhile time.process_time() - start < 0.5: pass"
# A child that starts a grandchild burning half a CPU-second, and exits without waiting for it.
ORPHANING = f"import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', {BURN!r}])"


def leave_an_orphan() -> dict:
    subprocess.run([sys.executable, "-c", ORPHANING], check=True)
    return {}


def test_the_cpu_of_an_orphaned_grandchild_counts(monkeypatch):
    monkeypatch.setitem(step.STEPS, "orphan", f"{__name__}:leave_an_orphan")
    measured = measure("orphan", {}, {})
    assert measured.cpu_seconds >= 0.5, measured
    assert measured.result["left_running"] == []


def test_the_bench_parses_for_its_own_warehouse_as_make_manifest_does_for_data(data_dir):
    """A build that starts from the parse state the bench's set-up left is a partial parse:
    the state names this data directory's warehouse, which is part of dbt's profile hash."""
    from bench.stages import parse_for_this_warehouse
    from pipelines.defs.transform import DBT_PROJECT, InstalledDbt
    from pipelines.lib import dbt_runs

    parse_for_this_warehouse()
    target = data_dir / "dbt" / "next"
    dbt_runs.reuse_parse_state(target)
    InstalledDbt.beside_this_python(DBT_PROJECT).cli(["parse"], target_path=target).wait()
    log = (target / "dbt.log").read_text(encoding="utf-8")
    assert "UnableToPartialParse" not in log
    assert "PartialParsingEnabled" in log or "Partial parsing enabled" in log, log[-2000:]

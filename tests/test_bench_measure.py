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

"""Whether the process that wrote something is still alive: what makes a temporary file, a
lock holder or a Dagster run provably abandoned rather than merely busy."""

from __future__ import annotations

import psutil


def is_running(pid: int, since: float | None = None) -> bool:
    """Whether process `pid` is alive on this machine and, given `since` (epoch seconds), was
    already running then: a pid the system has since given to a newer process is not the one
    that wrote. A zombie (killed, not yet reaped) is not alive; a process of another user is."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        created = process.create_time()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.AccessDenied:
        return True
    # create_time is rounded to the clock tick: a second of slack.
    return since is None or created <= since + 1.0

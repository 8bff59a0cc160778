"""Pull many agency-days at once: concurrently across agencies, one agency's days in order.

Each agency's API sees one request at a time from a run (its days are pulled one after the
other), while up to `PULL_THREADS` agencies are pulled side by side: the work is waiting on
many servers, not computing. Every agency-day ends with an outcome; one that fails is
discarded (nothing of it stays landed) and named, and the others go on.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date

PULL_THREADS_ENV = "EGOV_PULL_THREADS"
DEFAULT_PULL_THREADS = 8


@dataclass
class AgencyDayOutcome:
    agency_code: str
    day: date
    error: str | None = None
    metadata: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    def describe(self) -> str:
        return f"agency {self.agency_code}, day {self.day}: " + ("landed" if self.ok else f"FAILED: {self.error}")


def pull_threads() -> int:
    return max(1, int(os.environ.get(PULL_THREADS_ENV) or DEFAULT_PULL_THREADS))


def pull_all(
    agency_days: list[tuple[str, date]],
    pull_one: Callable[[str, date], dict],
    discard: Callable[[str, date], None],
    threads: int | None = None,
) -> list[AgencyDayOutcome]:
    """`pull_one(agency, day)` for every agency-day; outcomes in the order given.

    An exception fails that agency-day alone: `discard` removes what it may have left, and the
    error (which names agency and day where the source code raised it) is kept in the outcome.
    """
    by_agency: dict[str, list[date]] = defaultdict(list)
    for code, day in agency_days:
        by_agency[code].append(day)

    def pull_agency(code: str) -> list[AgencyDayOutcome]:
        outcomes = []
        for day in by_agency[code]:
            try:
                outcomes.append(AgencyDayOutcome(code, day, metadata=pull_one(code, day)))
            except Exception as error:  # noqa: BLE001 - one agency-day fails alone, by name
                discard(code, day)
                outcomes.append(AgencyDayOutcome(code, day, error=f"{type(error).__name__}: {error}"))
        return outcomes

    with ThreadPoolExecutor(max_workers=threads or pull_threads(), thread_name_prefix="pull") as pool:
        done = {(o.agency_code, o.day): o for batch in pool.map(pull_agency, by_agency) for o in batch}
    return [done[key] for key in agency_days]

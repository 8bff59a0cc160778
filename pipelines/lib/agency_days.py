"""Which agency-days a run covers: the days of its partitions × the agencies reporting each day.

Pure functions over the landed agency registry, shared by the assets (what a run pulls), the
schedules and the command line (what a backfill plans), so all three agree.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pipelines.lib import paths
from pipelines.lib.landing import read_parquet
from pipelines.lib.reference import STOCK_LOOKBACK_DAYS, agency_reports_on
from pipelines.settings import TIMEZONE


def date_range(start: date, end: date) -> list[date]:
    """Every day from `start` to `end`, both included."""
    if end < start:
        raise ValueError(f"the range ends ({end}) before it starts ({start})")
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def last_complete_days(count: int, today: date | None = None) -> list[date]:
    """The `count` days before today (Asia/Ho_Chi_Minh), oldest first."""
    today = today or datetime.now(TIMEZONE).date()
    return [today - timedelta(days=n) for n in range(count, 0, -1)]


def registry() -> list[dict]:
    return read_parquet(paths.agencies_file()).to_pylist()


def unknown_agencies(agencies: list[str]) -> list[str]:
    """Codes the registry does not know (a typo would otherwise run nothing, silently)."""
    known = {a["agency_code"] for a in registry()}
    return sorted(set(agencies) - known)


def agency_days(days: list[date], agencies: list[str] | None = None) -> list[tuple[str, date]]:
    """Every (agency, day) to pull: agencies reporting that day (valid then, or in their tail
    after ceasing), optionally only the given ones; by day, then agency code."""
    listed = sorted(registry(), key=lambda a: a["agency_code"])
    return [
        (a["agency_code"], day)
        for day in days
        for a in listed
        if agency_reports_on(a, day) and (not agencies or a["agency_code"] in agencies)
    ]


def look_back(days: list[date], agencies: list[str] | None = None,
              lookback_days: int = STOCK_LOOKBACK_DAYS) -> list[date]:
    """The days before `days` that the open stock of their first day needs (its look-back) and
    that some agency reporting then, of `agencies`, has not validated yet: all of them before the
    registry is first landed."""
    if lookback_days <= 0:
        return []
    first = min(days)
    before = date_range(first - timedelta(days=lookback_days), first - timedelta(days=1))
    if not paths.agencies_file().exists():
        return before
    return sorted({day for code, day in agency_days(before, agencies) if not paths.is_validated(code, day)})


def parse_agency_list(text: str | None) -> list[str] | None:
    """A comma-separated list of agency codes (a run tag), or None for every agency."""
    codes = [c.strip() for c in (text or "").split(",") if c.strip()]
    return codes or None

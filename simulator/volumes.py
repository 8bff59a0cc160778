"""Daily dossier volumes and channel mix: calibration, seasonality and the online trend.

Scale 1.0 is about 300,000 dossiers received on an ordinary working day over all agencies,
split by each agency's annual volume (cited figures from shared/domain.md where known,
estimates otherwise). Weekends and holidays only see online submissions, at a low rate.
"""
from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from .calendar import calendar, day_index, holidays
from .registry import Agency, all_agencies

NATIONAL_PER_WORKING_DAY = 300_000


@lru_cache(maxsize=1)
def _total_weight() -> float:
    return sum(a.annual_volume for a in all_agencies() if a.valid_to is None)


@lru_cache(maxsize=1)
def _predecessors() -> dict[str, list[Agency]]:
    out: dict[str, list[Agency]] = {}
    for a in all_agencies():
        if a.successor and a.level == "BO":   # merged provinces already carry their parts' volume
            out.setdefault(a.successor, []).append(a)
    return out


def weight(agency: Agency, d: date) -> float:
    """Annual volume in force on d: a ministry that absorbed another takes over its volume."""
    w = agency.annual_volume
    for p in _predecessors().get(agency.code, []):
        if p.valid_to is not None and d > p.valid_to:
            w += p.annual_volume
    return w


def online_share(d: date, level: str) -> float:
    """Share of dossiers submitted online: ~10% nationally in 2019, ~55% in 2025."""
    t = (d.toordinal() - date(2019, 1, 1).toordinal()) / 365.25
    if level == "BO":
        start, end = 0.11, 0.58
    else:
        start, end = 0.05, 0.40
    share = start + (end - start) * min(max(t, 0.0), 6.0) / 6.0
    if t > 6.0:
        share += 0.03 * (t - 6.0)
    return min(share, 0.85)


def growth(d: date) -> float:
    return 1.04 ** ((d.toordinal() - date(2022, 1, 1).toordinal()) / 365.25)


def _tet_factor(d: date) -> float:
    """Rush before Tết, lull after: Tết moves every year, so read it from the holiday list."""
    hol = holidays()
    for delta in range(1, 15):
        if hol.get(d + timedelta(days=delta), ("",))[0] == "Tết Nguyên Đán":
            return 1.25
        if hol.get(d - timedelta(days=delta), ("",))[0] == "Tết Nguyên Đán":
            return 0.8 if delta <= 10 else 1.0
    return 1.0


@lru_cache(maxsize=8192)
def day_profile(d: date) -> tuple[float, float]:
    """(multiplier for counter/post submissions, multiplier for online submissions) on d."""
    cal = calendar()
    i = day_index(d)
    if cal.is_work[i]:
        wk = (1.12, 1.02, 1.0, 0.98, 0.92)[d.weekday()]
        f = wk * _tet_factor(d) * (1.08 if d.month == 12 else 1.0)
        return f, f
    if cal.is_holiday[i]:
        return 0.0, 0.12
    return 0.0, 0.3


def expected_counts(agency: Agency, d: date, scale: float) -> tuple[float, float]:
    """Expected (offline, online) submissions for the agency on day d."""
    if not agency.valid_on(d):
        return 0.0, 0.0
    base = NATIONAL_PER_WORKING_DAY * scale * weight(agency, d) / _total_weight() * growth(d)
    off_f, on_f = day_profile(d)
    share = online_share(d, agency.level)
    return base * (1 - share) * off_f, base * share * on_f

"""Working-day calendar and the simulator's time representation.

Times are naive Asia/Ho_Chi_Minh local times stored as int seconds since LOCAL_EPOCH, so
that arrays of them are cheap and arithmetic never meets a time zone. Working days skip
weekends and the public holidays in reference/vn_public_holidays.csv (shared with dbt).
"""
from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
HOLIDAYS_CSV = REPO_ROOT / "reference" / "vn_public_holidays.csv"

LOCAL_EPOCH = datetime(2018, 1, 1)
EPOCH_ORD = LOCAL_EPOCH.toordinal()
CAL_FIRST = date(2018, 1, 1)
CAL_LAST = date(2029, 12, 31)
DAY = 86400
OFFICE_START = 7 * 3600 + 30 * 60      # 07:30
OFFICE_MINUTES = 9 * 60 + 30           # 07:30-17:00, one "working day" of office minutes


def to_ts(dt: datetime) -> int:
    return (dt.toordinal() - EPOCH_ORD) * DAY + dt.hour * 3600 + dt.minute * 60 + dt.second


def from_ts(ts: int) -> datetime:
    return LOCAL_EPOCH + timedelta(seconds=int(ts))


def day_index(d: date) -> int:
    return d.toordinal() - EPOCH_ORD


def day_of(index: int) -> date:
    return date.fromordinal(int(index) + EPOCH_ORD)


@lru_cache(maxsize=1)
def holidays() -> dict[date, tuple[str, str]]:
    out = {}
    with open(HOLIDAYS_CSV, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            out[date.fromisoformat(row["date"])] = (row["name_vi"], row["name_en"])
    return out


class WorkCalendar:
    """Vectorised working-day arithmetic over day indices (days since LOCAL_EPOCH)."""

    def __init__(self) -> None:
        n = (CAL_LAST - CAL_FIRST).days + 1
        hol = holidays()
        days = [CAL_FIRST + timedelta(i) for i in range(n)]
        self.is_work = np.array([d.weekday() < 5 and d not in hol for d in days], dtype=bool)
        self.is_holiday = np.array([d in hol for d in days], dtype=bool)
        # wd_before[i] = number of working days strictly before day i; working day i has
        # working index wd_before[i]; a non-working day maps to the next working day's index.
        self.wd_before = np.concatenate([[0], np.cumsum(self.is_work)[:-1]]).astype(np.int64)
        self.work_days = np.flatnonzero(self.is_work).astype(np.int64)  # working index -> day index

    def working(self, d: date) -> bool:
        return bool(self.is_work[day_index(d)])

    def add_working_days(self, d: date, n: int) -> date:
        """The working day n working days after d (d itself when n == 0 and d is working)."""
        i = int(self.wd_before[day_index(d)])
        return day_of(self.work_days[i + n])

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in [a, b)."""
        return int(self.wd_before[day_index(b)] - self.wd_before[day_index(a)])

    # --- the office clock: a time expressed in "office minutes" since LOCAL_EPOCH --------
    def to_office(self, ts: np.ndarray) -> np.ndarray:
        """Map times to office minutes; times outside office hours snap to the next opening."""
        ts = np.asarray(ts, dtype=np.int64)
        di = ts // DAY
        sec = ts - di * DAY
        wi = self.wd_before[di]
        within = np.clip((sec - OFFICE_START) // 60, 0, OFFICE_MINUTES)
        within = np.where(self.is_work[di], within, 0)
        return wi * OFFICE_MINUTES + within

    def from_office(self, om: np.ndarray, jitter: np.ndarray | None = None) -> np.ndarray:
        """Office minutes back to timestamps (optionally with seconds jitter 0..59)."""
        om = np.asarray(om, dtype=np.int64)
        wi = om // OFFICE_MINUTES
        within = om - wi * OFFICE_MINUTES
        ts = self.work_days[wi] * DAY + OFFICE_START + within * 60
        if jitter is not None:
            ts = ts + jitter
        return ts


@lru_cache(maxsize=1)
def calendar() -> WorkCalendar:
    return WorkCalendar()


class TimeFormat:
    """Fast timestamp formatting via per-day and per-second-of-day lookup tables."""

    def __init__(self, day_fmt: str, sep: str, hms_fmt: str):
        self.day_fmt, self.sep = day_fmt, sep
        self.days: dict[int, str] = {}
        self.hms = [hms_fmt.format(h=s // 3600, m=s // 60 % 60, s=s % 60) for s in range(DAY)]

    def __call__(self, ts: int) -> str:
        di, sec = divmod(ts, DAY)
        ds = self.days.get(di)
        if ds is None:
            ds = self.days[di] = day_of(di).strftime(self.day_fmt) + self.sep
        return ds + self.hms[sec]


_FORMATS: dict[str, TimeFormat] = {}


def time_format(kind: str) -> TimeFormat:
    """"compact" = yyyyMMddHHmmss (v1), "iso" = yyyy-MM-ddTHH:mm:ss (v2)."""
    f = _FORMATS.get(kind)
    if f is None:
        if kind == "compact":
            f = TimeFormat("%Y%m%d", "", "{h:02d}{m:02d}{s:02d}")
        elif kind == "iso":
            f = TimeFormat("%Y-%m-%d", "T", "{h:02d}:{m:02d}:{s:02d}")
        else:
            raise ValueError(kind)
        _FORMATS[kind] = f
    return f


_EPOCH64 = np.datetime64(LOCAL_EPOCH, "s")


def format_array(ts: np.ndarray, kind: str) -> np.ndarray:
    """Vectorised formatting of many timestamps (negative = absent: the result is junk)."""
    ts = np.maximum(np.asarray(ts, dtype=np.int64), 0)
    d64 = _EPOCH64 + ts.astype("timedelta64[s]")
    if kind == "iso":
        return np.datetime_as_string(d64, unit="s")
    day = d64.astype("datetime64[D]")
    month = d64.astype("datetime64[M]")
    y = d64.astype("datetime64[Y]").astype(np.int64) + 1970
    m = month.astype(np.int64) % 12 + 1
    d = (day - month.astype("datetime64[D]")).astype(np.int64) + 1
    sec = ts % DAY
    n = ((y * 100 + m) * 100 + d) * 1_000_000 + (sec // 3600) * 10_000 + (sec // 60 % 60) * 100 + sec % 60
    return n.astype("U14")


def fmt_compact(ts: int) -> str:
    """yyyyMMddHHmmss (variant v1)."""
    return time_format("compact")(int(ts))


def parse_compact(text: str) -> datetime:
    if len(text) != 14 or not text.isdigit():
        raise ValueError(f"expected yyyyMMddHHmmss, got {text!r}")
    return datetime.strptime(text, "%Y%m%d%H%M%S")

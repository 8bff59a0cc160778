"""Fault profiles: what real agency APIs do to a client, injected deterministically.

Profiles (combine with commas, e.g. "flaky,dirty"):
- flaky: 5xx, 429 with Retry-After, slow responses, dropped connections. Decided per request
  URL from the seed; a URL fails on at most its first two attempts, so a client that
  retries always gets through. Attempts are counted per URL by the server.
- dirty: malformed records (impossible dates, unknown status 0/11, negative fees) chosen per
  dossier version, the last item of a page repeated at the head of the next page, and a
  page body truncated on its first attempt.
- drift: from a date, some agencies add a field (MaBuuChinh) and rename one
  (KenhThucHien -> KenhNop).
- hostile: a few agencies (chosen from the seed, one per kind) misbehave in ways no retry
  fixes: a page token that loops, a body dripped a byte a second, an endless page, a redirect
  to another origin, an HTML page with status 200, a revoked token (401). The others are normal.
Every fault actually served is recorded in a `FaultLog` (Simulation.injected_faults, and
GET /sim/faults, read by `python -m simulator truth --fault-log URL`).
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import asdict, dataclass
from datetime import date

PROFILES = ("none", "flaky", "dirty", "drift", "hostile")
FLAKY_KINDS = (("http_500", 15), ("http_502", 10), ("http_503", 20), ("http_429", 25), ("slow", 15), ("drop", 15))
SLOW_SECONDS = 1.5
RETRY_AFTER = "1"
IMPOSSIBLE_MMDD = ("0230", "0231", "0431", "0631", "0931", "1131", "1315", "0000")
DIRTY_DATE_FIELDS = ("NgayNopHoSo", "NgayTiepNhan", "NgayHenTra", "NgayCapNhat")
HOSTILE_KINDS = ("cursor_loop", "slow_drip", "oversized_page", "foreign_redirect", "html_page", "revoked_token")
DRIP_SECONDS = 1.0                 # slow_drip: one byte of the body per second
OVERSIZED_BYTES = 96 * 2**20       # oversized_page: whitespace after the page, sent until the client hangs up
MAINTENANCE_PAGE = ("<!DOCTYPE html><html lang=\"vi\"><head><title>Bảo trì hệ thống</title></head>"
                    "<body><h1>Hệ thống đang bảo trì</h1><p>Vui lòng quay lại sau.</p></body></html>").encode()


def parse_profile(text: str | None) -> frozenset[str]:
    parts = {p.strip() for p in (text or "none").split(",") if p.strip()}
    bad = parts - set(PROFILES)
    if bad:
        raise ValueError(f"unknown fault profile(s) {sorted(bad)}; choose from {PROFILES}")
    return frozenset(parts - {"none"})


def unit(seed: int, *parts) -> float:
    """A uniform draw in [0, 1) fixed by (seed, parts)."""
    h = hashlib.blake2b(repr((seed,) + parts).encode(), digest_size=8).digest()
    return int.from_bytes(h, "little") / 2**64


@dataclass(frozen=True)
class Fault:
    agency: str | None
    day: str | None          # ISO date: the version's day for record faults, else the window's
    kind: str
    dossier: str | None      # MaHoSo for record-level faults
    page: str | None         # request path + query for transport/page faults
    detail: str

    def as_dict(self) -> dict:
        return asdict(self)


class FaultLog:
    """Thread-safe, de-duplicated record of every fault served."""

    def __init__(self):
        self._lock = threading.Lock()
        self._items: dict[tuple, Fault] = {}

    def add(self, fault: Fault, *extra_key) -> None:
        with self._lock:
            self._items.setdefault((fault.agency, fault.day, fault.kind, fault.dossier, fault.page) + extra_key, fault)

    def select(self, agency: str | None = None, day: date | str | None = None) -> list[Fault]:
        d = day.isoformat() if isinstance(day, date) else day
        with self._lock:
            out = [f for f in self._items.values()
                   if (agency is None or f.agency == agency) and (d is None or f.day == d)]
        return sorted(out, key=lambda f: (f.agency or "", f.day or "", f.kind, f.dossier or "", f.page or "", f.detail))


class Attempts:
    """Attempts per request URL, counted server-side."""

    def __init__(self):
        self._lock = threading.Lock()
        self._n: dict[str, int] = {}

    def next(self, url: str) -> int:
        with self._lock:
            n = self._n.get(url, 0) + 1
            self._n[url] = n
            return n


def flaky_failures(seed: int, url: str) -> int:
    """How many leading attempts of this URL fail (0, 1 or 2)."""
    u = unit(seed, "flaky", url)
    return 0 if u >= 0.35 else (1 if u < 0.245 else 2)


def flaky_kind(seed: int, url: str, attempt: int) -> str:
    u = unit(seed, "flaky-kind", url, attempt) * sum(w for _, w in FLAKY_KINDS)
    for kind, w in FLAKY_KINDS:
        if u < w:
            return kind
        u -= w
    return FLAKY_KINDS[-1][0]


def truncate_first_attempt(seed: int, url: str) -> bool:
    return unit(seed, "truncate", url) < 0.1


def duplicate_at_head(seed: int, code: str, window: str, after_key: int) -> bool:
    return unit(seed, "dup", code, window, after_key) < 0.25


def record_fault(seed: int, code: str, mahoso: str, updated: str) -> str | None:
    """Which malformation (if any) this dossier version gets: ~1% of versions."""
    u = unit(seed, "dirty", code, mahoso, updated)
    if u < 0.004:
        return "bad_date"
    if u < 0.008:
        return "bad_status"
    if u < 0.012:
        return "negative_fee"
    return None


def impossible(value: str, seed: int, mahoso: str) -> str:
    """Same year and clock time, impossible month/day, in the value's own format."""
    mmdd = IMPOSSIBLE_MMDD[int(unit(seed, "mmdd", mahoso) * len(IMPOSSIBLE_MMDD))]
    if "-" in value:   # ISO (v2)
        return f"{value[:4]}-{mmdd[:2]}-{mmdd[2:]}{value[10:]}"
    return f"{value[:4]}{mmdd}{value[8:]}"


def drift_agencies(seed: int, codes: list[str]) -> set[str]:
    """About half the agencies drift; at least one."""
    chosen = {c for c in codes if unit(seed, "drift", c) < 0.5}
    if not chosen and codes:
        chosen = {min(codes, key=lambda c: unit(seed, "drift", c))}
    return chosen


def postal_code(seed: int, mahoso: str) -> str:
    return f"{int(unit(seed, 'zip', mahoso) * 90000) + 10000:05d}"


def hostile_agencies(seed: int, candidates: list[str]) -> dict[str, str]:
    """One agency per hostile kind, {code: kind}, drawn from the seed among `candidates`."""
    ranked = sorted(candidates, key=lambda c: unit(seed, "hostile", c))
    return dict(zip(ranked, HOSTILE_KINDS))

"""The `Simulation` facade: the ground truth the tests use and the data the server serves.

Everything is a pure function of (seed, scale, agency, day): receive days are generated on
demand and kept in a bounded LRU cache; a window query scans the receive days that can have
events in it (at most HORIZON_DAYS back) and keeps a small sorted index of the versions it
found, so paging through a window does not regenerate anything.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from . import catalogue
from . import faults as F
from . import variants as V
from .calendar import DAY, day_index, day_of, from_ts, to_ts
from .lifecycle import (C_ACCEPT, C_END, C_RETURN, C_S1RCV, C_S1REQ, C_S2RCV, C_S2REQ, HORIZON_DAYS,
                        DaySkeleton, Dossier, Supplement, generate_day, _dt)
from .registry import Agency, all_agencies, wards_of
from .people import compose
from .render import RECEPTION_UNIT, Renderer, Rows, rows_of, seq_width

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MAX_PAGE_SIZE = 5000
ROW_BYTES = 320           # rough size of one renderable version in a window index
DEFAULT_PAGE_SIZE = 500
# key = (version time << 33) | (receive day << 20) | row: sorts as (NgayCapNhat, MaHoSo)
_TS_SHIFT, _DAY_SHIFT, _ROW_BITS = 33, 20, 20


class LRU:
    """A small thread-safe LRU bounded by a cost budget (bytes, or entries)."""

    def __init__(self, budget: float, cost=lambda v: 1):
        self.budget, self.cost, self.used = budget, cost, 0.0
        self.data: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            v = self.data.get(key)
            if v is not None:
                self.data.move_to_end(key)
            return v

    def put(self, key, value):
        c = self.cost(value)
        with self.lock:
            if key in self.data:
                return
            self.data[key] = value
            self.used += c
            while self.used > self.budget and len(self.data) > 1:
                _, old = self.data.popitem(last=False)
                self.used -= self.cost(old)


@dataclass
class WindowIndex:
    """The versions in one window, sorted by (NgayCapNhat, MaHoSo).

    Small windows carry their renderable `rows`; a window too big for the cache budget keeps
    only (day, row, at) per version (24 bytes) and pages re-read their receive days, so
    memory stays bounded whatever window a client asks for.
    """
    keys: np.ndarray
    days: np.ndarray
    idx: np.ndarray
    at: np.ndarray
    rows: Rows | None

    @property
    def total(self) -> int:
        return int(self.keys.shape[0])

    def nbytes(self) -> int:
        n = self.keys.nbytes + self.days.nbytes + self.idx.nbytes + self.at.nbytes
        return n + (self.rows.nbytes() if self.rows is not None else 0)


class BadRequest(ValueError):
    """A request parameter the API rejects with 400."""


class Simulation:
    """Deterministic simulator of every agency's one-stop-shop system.

    seed: everything derives from it. scale: 1.0 ~ 300,000 dossiers per working day
    nationally. faults: "none" | "flaky" | "dirty" | "drift" | "hostile". now: the simulator's clock
    (None = wall clock, Asia/Ho_Chi_Minh). agencies: restrict to these codes. off: {code:
    date} switches an agency off from that date (empty windows from then on).
    """

    def __init__(self, seed: int = 42, scale: float = 0.01, faults: str = "none",
                 now: datetime | None = None, agencies: list[str] | None = None,
                 off: dict[str, date] | None = None, variants: str | dict | None = "mixed",
                 drift_from: date | None = None, slow_seconds: float = F.SLOW_SECONDS,
                 cache_bytes: int = 512 * 2**20,
                 window_cache_bytes: int = 256 * 2**20,
                 page_cache_bytes: int = 0):
        self.seed = int(seed)
        self.scale = float(scale)
        self.faults = faults or "none"
        self.fault_profile = F.parse_profile(self.faults)
        self.fault_log = F.FaultLog()
        self.attempts = F.Attempts()
        self.slow_seconds = float(slow_seconds)
        self._now = now
        every = all_agencies()
        if agencies is not None:
            unknown = set(agencies) - {a.code for a in every}
            if unknown:
                raise ValueError(f"unknown agencies: {sorted(unknown)}")
            every = tuple(a for a in every if a.code in set(agencies))
        self._agencies = every
        self._by_code = {a.code: a for a in every}
        self.off = dict(off or {})
        # payload variants: "mixed" (deterministic per seed), one variant for all, or a dict
        mixed = V.assign(self.seed, all_agencies())
        if variants in (None, "mixed"):
            self._variants = mixed
        elif isinstance(variants, str):
            if variants not in V.VARIANTS:
                raise ValueError(f"unknown variant {variants!r}")
            self._variants = {a.code: variants for a in all_agencies()}
        else:
            self._variants = {**mixed, **variants}
        # drift: about half the agencies change their schema from drift_from (default: 2 days
        # before the clock at start-up)
        self._drift: dict[str, date] = {}
        if "drift" in self.fault_profile:
            start = drift_from or (self.now - timedelta(days=2)).date()
            for c in F.drift_agencies(self.seed, [a.code for a in every]):
                self._drift[c] = start
        # hostile: one agency per kind among those that exist on every date and serve JSON
        self._hostile: dict[str, str] = {}
        if "hostile" in self.fault_profile:
            stable = [a.code for a in every
                      if a.valid_to is None and a.valid_from.year < 2025 and self._variants[a.code] != "v4"]
            self._hostile = F.hostile_agencies(self.seed, stable)
        self._days = LRU(cache_bytes, cost=lambda sk: sk.nbytes() + 2000)
        self._windows = LRU(window_cache_bytes, cost=lambda w: w.nbytes() + 1000)
        self._window_budget = window_cache_bytes
        # Served dossier pages (api.Response), kept only where serving them again changes nothing.
        self.pages = LRU(page_cache_bytes, cost=lambda r: len(r.body) + 1000) if page_cache_bytes else None
        self._wards: dict[str, list[str]] = {}
        self._renderers: dict[tuple[str, str], Renderer] = {}

    # ---------------------------------------------------------------- clock & registry ---
    @property
    def now(self) -> datetime:
        if self._now is not None:
            return self._now
        return datetime.now(TZ).replace(tzinfo=None, microsecond=0)

    def agency(self, code: str) -> Agency:
        try:
            return self._by_code[code]
        except KeyError:
            raise KeyError(code) from None

    def has_agency(self, code: str) -> bool:
        return code in self._by_code

    def agencies(self) -> list[dict]:
        """The registry exactly as GET /api/v1/agencies serves it."""
        return [a.to_dict() for a in self._agencies]

    def agency_codes(self, as_of: date) -> list[str]:
        return [a.code for a in self._agencies if a.valid_on(as_of)]

    def token(self, code: str) -> str:
        return hmac.new(f"sim:{self.seed}".encode(), code.encode(), hashlib.sha256).hexdigest()[:32]

    def tokens(self) -> dict[str, str]:
        return {a.code: self.token(a.code) for a in self._agencies}

    def procedures(self, code: str, as_of: date) -> list[dict]:
        """The catalogue exactly as GET .../procedures?as_of= serves it."""
        ag = self.agency(code)
        return [p.to_dict(as_of) for p in catalogue.offered(self.seed, ag, as_of)]

    def wards(self, ag: Agency) -> list[str]:
        w = self._wards.get(ag.code)
        if w is None:
            w = self._wards[ag.code] = wards_of(ag)
        return w

    # ------------------------------------------------------------------- generation ----
    def day(self, code: str, d: date) -> DaySkeleton:
        """The receive day's skeleton (cached)."""
        key = (code, d.toordinal())
        sk = self._days.get(key)
        if sk is None:
            sk = generate_day(self.seed, self.scale, self.agency(code), d)
            self._days.put(key, sk)
        return sk

    def dossiers(self, code: str, received_day: date) -> list[Dossier]:
        """Every dossier submitted on that day, as full lifecycle objects (no faults)."""
        sk = self.day(code, received_day)
        rows = rows_of(self.seed, sk, np.arange(sk.n), np.zeros(sk.n, np.int64))
        who = rows.who.tolist()
        return [self._dossier(sk, i, who[i]) for i in range(sk.n)]

    def renderer(self, code: str, variant: str = "v1") -> Renderer:
        """Item renderer for the agency in a payload variant ("v1" = the clean reference)."""
        r = self._renderers.get((code, variant))
        if r is None:
            ag = self.agency(code)
            r = Renderer(ag, catalogue.catalogue(self.seed, ag), self.wards(ag), **V.renderer_options(variant))
            self._renderers[(code, variant)] = r
        return r

    def _dossier(self, sk: DaySkeleton, i: int, who: list[int] | None = None) -> Dossier:
        ev, st = sk.ev_ts[i], sk.ev_st[i]
        proc = sk.procedures[int(sk.proc[i])]
        rd = self.renderer(sk.agency.code)
        unit = rd.units[int(sk.proc[i])]
        events = [(int(st[c]), from_ts(ev[c]), RECEPTION_UNIT if int(st[c]) in (1, 2, 3, 10) else unit)
                  for c in range(ev.shape[0]) if ev[c] >= 0]
        final = events[-1][0]
        refused = final == 3
        sups, before = [], int(sk.due[i])
        for j, (rq, rc) in enumerate(((C_S1REQ, C_S1RCV), (C_S2REQ, C_S2RCV))):
            if ev[rq] < 0:
                break
            sups.append(Supplement(from_ts(ev[rq]), _dt(ev[rc]), from_ts(before), _dt(sk.due_new[i, j])))
            before = int(sk.due_new[i, j]) if sk.due_new[i, j] >= 0 else before
        eff = _dt(before) if not refused else None
        return Dossier(
            code=self.renderer(sk.agency.code).code(sk.day, i, seq_width(sk.n)), agency=sk.agency.code, received_day=day_of(sk.day), seq=i + 1,
            procedure=proc.code, procedure_days=proc.days, channel=int(sk.channel[i]),
            channel_reported=None if sk.channel_null[i] else int(sk.channel[i]),
            applicant_type=int(sk.ltype[i]), submitted=from_ts(ev[0]),
            accepted=None if refused else from_ts(ev[C_ACCEPT]),
            refused=from_ts(ev[C_ACCEPT]) if refused else None,
            due=_dt(sk.due[i]), due_effective=eff,
            ended=from_ts(ev[C_ACCEPT]) if refused else _dt(ev[C_END]),
            returned=_dt(ev[C_RETURN]), final_status=final, fee=int(sk.fee[i]),
            fee_paid_at=_dt(sk.paid_ts[i]), paid_online=int(sk.pay_method[i]),
            electronic_result=bool(sk.eresult[i]), supplements=sups, events=events,
            applicant=compose(who, rd.province, rd.wards, rd.home))

    # ---------------------------------------------------------------------- windows ----
    def effective_end(self, code: str, updated_to: datetime) -> datetime:
        """Windows never reach past the clock, nor past an agency's switch-off."""
        end = min(updated_to, self.now)
        off = self.off.get(code)
        if off is not None:
            end = min(end, datetime.combine(off, datetime.min.time()))
        return end

    def window_index(self, code: str, updated_from: datetime, updated_to: datetime) -> WindowIndex:
        ag = self.agency(code)
        f = to_ts(updated_from)
        t = to_ts(max(self.effective_end(code, updated_to), updated_from))
        key = (code, f, t)
        w = self._windows.get(key)
        if w is not None:
            return w
        parts = []
        if t > f:
            first = max(day_of(f // DAY - HORIZON_DAYS), ag.valid_from)
            last = day_of((t - 1) // DAY)
            if ag.valid_to is not None:
                last = min(last, ag.valid_to)
            d = first
            while d <= last:
                sk = self.day(code, d)
                if sk.n:
                    ev = sk.ev_ts
                    inside = (ev >= f) & (ev < t)
                    hit = inside.any(axis=1)
                    if hit.any():
                        idx = np.flatnonzero(hit)
                        at = np.where(inside[idx], ev[idx], -1).max(axis=1).astype(np.int64)
                        parts.append((np.full(idx.shape, sk.day, np.int64), idx.astype(np.int64), at))
                d += timedelta(days=1)
        z = np.zeros(0, np.int64)
        days = np.concatenate([p[0] for p in parts]) if parts else z
        idx = np.concatenate([p[1] for p in parts]) if parts else z
        at = np.concatenate([p[2] for p in parts]) if parts else z
        keys = (at << _TS_SHIFT) | (days << _DAY_SHIFT) | idx
        order = np.argsort(keys, kind="stable")
        keys, days, idx, at = keys[order], days[order], idx[order], at[order]
        rows = None
        if keys.shape[0] * ROW_BYTES <= self._window_budget // 2:
            rows = self._rows(code, days, idx, at)
        w = WindowIndex(keys, days, idx, at, rows)
        self._windows.put(key, w)
        return w

    def _rows(self, code: str, days: np.ndarray, idx: np.ndarray, at: np.ndarray) -> Rows:
        """Renderable rows for these versions, in the given order."""
        if days.shape[0] == 0:
            return Rows.empty()
        uniq = np.unique(days)
        if uniq.shape[0] == 1:
            return rows_of(self.seed, self.day(code, day_of(int(uniq[0]))), idx, at)
        order = np.argsort(days, kind="stable")
        parts = []
        for dd in uniq:
            sel = order[days[order] == dd]
            parts.append(rows_of(self.seed, self.day(code, day_of(int(dd))), idx[sel], at[sel]))
        back = np.empty_like(order)
        back[order] = np.arange(order.shape[0])
        return Rows.concat(parts).take(back)

    def page_rows(self, code: str, w: WindowIndex, start: int, stop: int) -> Rows:
        """Rows for positions [start, stop) of the window."""
        if w.rows is not None:
            return w.rows.slice(start, stop)
        return self._rows(code, w.days[start:stop], w.idx[start:stop], w.at[start:stop])

    def window(self, code: str, updated_from: datetime, updated_to: datetime) -> list[dict]:
        """All items the API returns for the window, in order, as clean v1 dicts (no faults)."""
        w = self.window_index(code, updated_from, updated_to)
        return self.renderer(code).render(self.page_rows(code, w, 0, w.total))

    def window_total(self, code: str, updated_from: datetime, updated_to: datetime) -> int:
        return self.window_index(code, updated_from, updated_to).total

    def version(self, dossier_code: str, at: datetime) -> dict | None:
        """The clean v1 item of a dossier as of time `at` (None if not yet submitted)."""
        code, yymmdd, seq = dossier_code.rsplit("-", 2)
        sk = self.day(code, datetime.strptime(yymmdd, "%y%m%d").date())
        i = int(seq) - 1
        ev = sk.ev_ts[i]
        t = to_ts(at)
        present = ev[(ev >= 0) & (ev <= t)]
        if present.size == 0:
            return None
        return self.renderer(code).render(rows_of(self.seed, sk, np.array([i]), np.array([present.max()])))[0]

    def page_cache_key(self, code: str, updated_to: datetime, q: dict) -> tuple | None:
        """The key a served page is kept under, or None when it is rendered each time: no page
        cache, faults to inject (they are logged as served), or a window still open (new
        versions can arrive in it)."""
        if self.pages is None or self.fault_profile or updated_to > self.now:
            return None
        return code, q["updated_from"], q["updated_to"], q.get("page_size") or "", q.get("page_token") or ""

    # ------------------------------------------------------------------- pagination ----
    def page_token(self, code: str, f: datetime, t: datetime, key: int) -> str:
        raw = f"{code}|{f:%Y%m%d%H%M%S}|{t:%Y%m%d%H%M%S}|{key}"
        mac = hmac.new(f"page:{self.seed}".encode(), raw.encode(), hashlib.sha256).hexdigest()[:12]
        return base64.urlsafe_b64encode(f"{raw}|{mac}".encode()).decode().rstrip("=")

    def parse_page_token(self, token: str, code: str, f: datetime, t: datetime) -> int:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            c, fs, ts_, key, mac = raw.split("|")
        except Exception:
            raise BadRequest("invalid page_token") from None
        expect = hmac.new(f"page:{self.seed}".encode(), f"{c}|{fs}|{ts_}|{key}".encode(),
                          hashlib.sha256).hexdigest()[:12]
        if not hmac.compare_digest(mac, expect):
            raise BadRequest("invalid page_token")
        if (c, fs, ts_) != (code, f"{f:%Y%m%d%H%M%S}", f"{t:%Y%m%d%H%M%S}"):
            raise BadRequest("page_token does not belong to this agency and window")
        return int(key)

    def page_bounds(self, code: str, updated_from: datetime, updated_to: datetime, page_size: int,
                    page_token: str | None, halves: bool = False) -> tuple[WindowIndex, int, int, str | None]:
        """Validate paging and locate the page: (window, start, stop, next token). `halves`:
        pages of at most half the window, so a window of two items or more is never one page."""
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise BadRequest(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        if updated_to < updated_from:
            raise BadRequest("updated_to is before updated_from")
        start = 0
        if page_token:
            after = self.parse_page_token(page_token, code, updated_from, updated_to)
        w = self.window_index(code, updated_from, updated_to)
        if page_token:
            start = int(np.searchsorted(w.keys, after, side="right"))
        if halves:
            page_size = min(page_size, max(1, (w.total + 1) // 2))
        stop = min(start + page_size, w.total)
        nxt = self.page_token(code, updated_from, updated_to, int(w.keys[stop - 1])) if stop < w.total else None
        return w, start, stop, nxt

    def page(self, code: str, updated_from: datetime, updated_to: datetime,
             page_size: int = DEFAULT_PAGE_SIZE, page_token: str | None = None) -> tuple[list[dict], int, str | None]:
        """One clean v1 page of the window: (items, total for the window, next page token)."""
        w, start, stop, nxt = self.page_bounds(code, updated_from, updated_to, page_size, page_token)
        return self.renderer(code).render(self.page_rows(code, w, start, stop)), w.total, nxt

    # ------------------------------------------------------------- variants & faults ----
    def variant(self, code: str) -> str:
        """The payload variant the agency serves: "v1" | "v2" | "v3" | "v4" (CSV)."""
        self.agency(code)
        return self._variants[code]

    def drift(self, code: str) -> date | None:
        """The date from which the agency's payload drifts (profile "drift"), else None."""
        return self._drift.get(code)

    def hostile(self, code: str) -> str | None:
        """How the agency misbehaves under profile "hostile" (faults.HOSTILE_KINDS), else None."""
        return self._hostile.get(code)

    def hostile_agencies(self) -> dict[str, str]:
        """{agency code: hostile kind} for every misbehaving agency (empty without "hostile")."""
        return dict(self._hostile)

    def drift_ts(self, code: str) -> int:
        return to_ts(datetime.combine(self._drift[code], datetime.min.time()))

    @staticmethod
    def version_day(stamp: str) -> str:
        """ISO day of a v1 or v2 timestamp."""
        digits = stamp.replace("-", "")
        return f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}"

    def injected_faults(self, code: str | None = None, day: date | None = None) -> list[dict]:
        """Every fault the server has injected so far (optionally for one agency / day).

        Records: {agency, day, kind, dossier, page, detail}. Record-level faults (bad_date,
        bad_status, negative_fee) and drift are dated by the version's own time (never by a
        date the dirty profile mangled), page-level ones (duplicate, truncated_page, http_*,
        slow, drop, and the hostile kinds) by the window's updated_from.
        """
        return [f.as_dict() for f in self.fault_log.select(code, day)]

    def record_faults(self, code: str, updated_from: datetime, updated_to: datetime) -> list[dict]:
        """The record-level faults profile "dirty" puts into this window (no HTTP needed)."""
        out = []
        for it in self.window(code, updated_from, updated_to):
            kind = F.record_fault(self.seed, code, it["MaHoSo"], it["NgayCapNhat"])
            if kind == "negative_fee" and not it["DanhSachLePhi"]:
                kind = None
            if kind:
                out.append({"agency": code, "day": self.version_day(it["NgayCapNhat"]), "kind": kind,
                            "dossier": it["MaHoSo"]})
        return out

    # ------------------------------------------------------------------------ truth ----
    def counts(self, code: str, received_day: date) -> dict:
        """Counts per final status and channel for one agency and receive day."""
        sk = self.day(code, received_day)
        final = sk.ev_st[np.arange(sk.n), (sk.ev_ts >= 0).cumsum(axis=1).argmax(axis=1)] if sk.n else np.zeros(0)
        return {
            "agency": code, "day": received_day.isoformat(), "received": sk.n,
            "by_channel": {str(c): int((sk.channel == c).sum()) for c in (1, 2, 3)},
            "by_final_status": {str(s): int((final == s).sum()) for s in sorted(set(final.tolist()))},
        }

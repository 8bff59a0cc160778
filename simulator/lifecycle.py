"""Dossier lifecycles, generated per (seed, agency, receive day) with numpy.

A receive day's dossiers are one vectorised draw (a `DaySkeleton`): submit time, channel,
procedure, applicant type and the times of every status change, kept as a fixed set of
columns. Everything a window query or the ground truth needs is derived from it, so a day
is generated once and can be cached cheaply. Handling happens on an "office clock"
(office minutes on working days, see calendar.py), which keeps every counter-side event in
office hours and makes due dates plain working-day arithmetic.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np

from .calendar import DAY, OFFICE_MINUTES as W, OFFICE_START, calendar, day_index, from_ts
from .catalogue import Procedure, catalogue
from .registry import Agency
from .volumes import expected_counts

HORIZON_DAYS = 80   # every lifecycle ends within this many days of submission

# event columns, in chronological order when present
C_SUBMIT, C_ACCEPT, C_PROCESS, C_S1REQ, C_S1RCV, C_S2REQ, C_S2RCV, C_PAYREQ, C_END, C_RETURN = range(10)
K = 10
COL_STATUS = np.array([1, 2, 4, 5, 4, 5, 4, 6, 9, 10], dtype=np.int8)

ONLINE_HOUR_W = np.array([1, .5, .3, .2, .2, .4, 1, 3, 6, 8, 8, 7, 4, 5, 7, 8, 7, 6, 5, 5, 5, 4, 3, 2], dtype=float)
ONLINE_HOUR_W /= ONLINE_HOUR_W.sum()


def stream_seed(seed: int, *parts: object) -> int:
    h = hashlib.blake2b(repr((seed,) + parts).encode(), digest_size=16).digest()
    return int.from_bytes(h, "little")


@dataclass
class DaySkeleton:
    """All dossiers submitted to one agency on one day (row i has sequence number i + 1)."""
    agency: Agency
    day: int                       # day index (calendar.day_index)
    procedures: tuple[Procedure, ...]  # the agency's whole catalogue (proc indexes into it)
    channel: np.ndarray            # int8 1 counter, 2 online, 3 post
    channel_null: np.ndarray       # bool: counter dossier whose channel field is left empty
    proc: np.ndarray               # int32 index into procedures (in force on the day)
    ltype: np.ndarray              # int8 1 citizen, 2 business, 3 household business
    ev_ts: np.ndarray              # int32 (n, K) event times (s since LOCAL_EPOCH), -1 when absent
    ev_st: np.ndarray              # int8 (n, K) status of each event column
    due: np.ndarray                # int64 original due time, -1 when never accepted
    due_new: np.ndarray            # int64 (n, 2) due after supplement 1/2 received, -1 otherwise
    fee: np.ndarray                # int64 VND, 0 when the procedure has no fee
    paid_ts: np.ndarray            # int64 when the fee was collected, -1 never
    pay_method: np.ndarray         # int8 0 not online, 1 national portal, 2 agency gateway
    eresult: np.ndarray            # bool: the result is an electronic document

    @property
    def n(self) -> int:
        return int(self.channel.shape[0])

    def nbytes(self) -> int:
        return sum(v.nbytes for v in self.__dict__.values() if isinstance(v, np.ndarray))

    def last_event(self) -> np.ndarray:
        return self.ev_ts.max(axis=1)


def _uniform_int(rng: np.random.Generator, lo, hi, n) -> np.ndarray:
    return rng.integers(np.asarray(lo, dtype=np.int64), np.asarray(hi, dtype=np.int64) + 1, size=n)


def generate_day(seed: int, scale: float, agency: Agency, d: date) -> DaySkeleton:
    """Draw one receive day for one agency. Deterministic in (seed, scale, agency, d)."""
    cal = calendar()
    di = day_index(d)
    rng = np.random.default_rng(stream_seed(seed, "day", agency.code, d.toordinal()))
    procs = catalogue(seed, agency)
    in_force = np.array([p.valid_from <= d for p in procs], dtype=bool)
    online_ok = in_force & np.array([p.level(d) != "KHONG" for p in procs], dtype=bool)
    pop = np.where(in_force, np.array([p.popularity for p in procs], dtype=float), 0.0)
    mu_off, mu_on = expected_counts(agency, d, scale)
    if not in_force.any():
        mu_off = mu_on = 0.0
    if not online_ok.any():                    # nothing offered online yet: all at the counter
        mu_off, mu_on = (mu_off + mu_on if cal.is_work[di] else 0.0), 0.0
    n_off = int(rng.poisson(mu_off)) if mu_off > 0 else 0
    n_on = int(rng.poisson(mu_on)) if mu_on > 0 else 0
    n = n_off + n_on

    # --- who, what, when submitted -------------------------------------------------
    online = np.zeros(n, dtype=bool)
    online[n_off:] = True
    channel = np.where(online, 2, np.where(rng.random(n) < 0.04, 3, 1)).astype(np.int8)
    channel_null = (channel == 1) & (rng.random(n) < 0.1)
    proc = np.empty(n, dtype=np.int32)
    if n_off:
        proc[:n_off] = rng.choice(len(procs), size=n_off, p=pop / pop.sum())
    if n_on:
        on_idx = np.flatnonzero(online_ok)
        p_on = pop[on_idx] / pop[on_idx].sum()
        proc[n_off:] = on_idx[rng.choice(len(on_idx), size=n_on, p=p_on)]
    ltype = rng.choice(np.array([1, 2, 3], dtype=np.int8), size=n, p=[0.8, 0.12, 0.08])
    sec = np.empty(n, dtype=np.int64)
    # counter and post: office hours 07:30-11:30 and 13:30-17:00
    m = _uniform_int(rng, 0, 449, n_off)
    sec[:n_off] = OFFICE_START + np.where(m < 240, m, m + 120) * 60 + rng.integers(0, 60, n_off)
    sec[n_off:] = rng.choice(24, size=n_on, p=ONLINE_HOUR_W) * 3600 + rng.integers(0, 3600, n_on)
    order = np.argsort(sec, kind="stable")     # sequence numbers follow submission time
    online, channel, channel_null, proc, ltype, sec = (a[order] for a in (online, channel, channel_null, proc, ltype, sec))
    submit = di * DAY + sec

    days = np.array([p.days for p in procs], dtype=np.int64)[proc] if n else np.zeros(0, np.int64)
    fee = np.array([p.fee for p in procs], dtype=np.int64)[proc] if n else np.zeros(0, np.int64)
    full = np.array([p.level(d) == "TOAN_TRINH" for p in procs], dtype=bool)[proc] if n else np.zeros(0, bool)

    # --- reception: accepted or refused -----------------------------------------------
    om_sub = cal.to_office(submit)
    acc_delay = np.where(channel == 1, _uniform_int(rng, 3, 30, n),
                np.where(channel == 3, _uniform_int(rng, 60, 2 * W, n),
                         np.clip(rng.exponential(240, n), 5, 2 * W).astype(np.int64)))
    refused = rng.random(n) < np.where(channel == 1, 0.02, np.where(channel == 3, 0.04, 0.06))
    om_acc = om_sub + acc_delay
    om_proc = om_acc + _uniform_int(rng, 5, 240, n)
    om_due = om_acc + days * W

    # --- supplements ---------------------------------------------------------------------
    u = rng.random(n)
    k_sup = np.where(u < 0.015, 2, np.where(u < 0.10, 1, 0))
    k_sup[refused] = 0
    span = days * W
    om_s1r = om_proc + 30 + (rng.uniform(0.1, 0.6, n) * span).astype(np.int64)
    wait1 = _uniform_int(rng, 1, 6, n) * W + _uniform_int(rng, -200, 200, n)
    om_s1c = om_s1r + np.maximum(wait1, 60)
    om_s2r = om_s1c + 30 + (rng.uniform(0.1, 0.5, n) * span).astype(np.int64)
    wait2 = _uniform_int(rng, 1, 6, n) * W + _uniform_int(rng, -200, 200, n)
    om_s2c = om_s2r + np.maximum(wait2, 60)
    waited1 = om_s1c // W - om_s1r // W
    waited2 = om_s2c // W - om_s2r // W
    om_due1 = om_due + waited1 * W
    om_due2 = om_due1 + waited2 * W
    never_back = (k_sup > 0) & (rng.random(n) < 0.12)          # applicant never supplements
    never_back_at = np.where(k_sup == 2, 2, 1)                  # ... at the last request
    s1_back = (k_sup >= 1) & ~(never_back & (never_back_at == 1))
    s2_back = (k_sup >= 2) & ~never_back
    cursor = np.where(k_sup == 0, om_proc, np.where(k_sup == 1, om_s1c, om_s2c))
    eff_due = np.where(k_sup == 0, om_due, np.where(k_sup == 1, om_due1, om_due2))

    # --- outcome --------------------------------------------------------------------------
    u = rng.random(n)
    late = (u < 0.09) | (eff_due - cursor < 20)
    frac = rng.beta(2.2, 1.6, n)
    om_end_ok = cursor + np.maximum(10, (frac * (eff_due - cursor)).astype(np.int64))
    om_end_late = np.maximum(eff_due, cursor) + _uniform_int(rng, 1, 6, n) * W - _uniform_int(rng, 0, 300, n)
    om_end = np.where(late, np.maximum(om_end_late, cursor + 10), np.minimum(om_end_ok, eff_due))
    u2 = rng.random(n)
    withdrawn = ~refused & (u2 < 0.015)
    stopped = ~refused & ~withdrawn & (u2 < 0.025)
    # abandoned supplement: stopped after 15 working days or withdrawn within 10
    last_req = np.where(never_back_at == 2, om_s2r, om_s1r)
    abandon_withdraw = never_back & (rng.random(n) < 0.3)
    om_abandon = np.where(abandon_withdraw, last_req + _uniform_int(rng, 1, 10, n) * W, last_req + 15 * W)
    om_cut = om_acc + 5 + (rng.uniform(0.05, 0.95, n) * np.maximum(om_end - om_acc, 10)).astype(np.int64)
    end_status = np.full(n, 9, dtype=np.int8)
    end_status[withdrawn] = 7
    end_status[stopped] = 8
    om_term = np.where(withdrawn | stopped, om_cut, om_end)
    end_status = np.where(never_back, np.where(abandon_withdraw, 7, 8), end_status).astype(np.int8)
    om_term = np.where(never_back, om_abandon, om_term)
    completed = ~refused & (end_status == 9)

    # --- fees ---------------------------------------------------------------------------------
    year = d.year + (d.timetuple().tm_yday / 366.0)
    p_pay_online = np.clip((year - 2019) / 6.0, 0.0, 1.0) * 0.6 + 0.1
    pay_online = (fee > 0) & np.where(online, rng.random(n) < p_pay_online, rng.random(n) < 0.05)
    pay_method = np.where(pay_online, np.where(rng.random(n) < 0.6, 1, 2), 0).astype(np.int8)
    pay_later = (fee > 0) & ~refused & (rng.random(n) < 0.3)
    om_payreq = cursor + np.maximum(1, ((om_term - cursor) * rng.uniform(0.3, 0.6, n)).astype(np.int64))
    om_paid = om_payreq + np.maximum(1, ((om_term - om_payreq) * rng.uniform(0.1, 0.8, n)).astype(np.int64))
    payreq_ok = pay_later & (om_payreq < om_term - 1) & (om_paid < om_term) & (end_status == 9) & ~never_back

    # --- result returned ----------------------------------------------------------------------
    e_year = np.clip((year - 2019) / 6.0, 0.0, 1.0)
    eresult = completed & np.where(online, rng.random(n) < 0.5 + 0.4 * e_year, rng.random(n) < 0.1 + 0.3 * e_year)
    returned = completed & (rng.random(n) < 0.95)
    om_ret = om_term + np.where(eresult & full, _uniform_int(rng, 1, 30, n), _uniform_int(rng, 30, 3 * W, n))

    # --- assemble event columns ----------------------------------------------------------------
    jit = rng.integers(0, 60, size=(n, K))
    def ts(om, col):
        return cal.from_office(om, jit[:, col])
    ev = np.full((n, K), -1, dtype=np.int64)
    ev[:, C_SUBMIT] = submit
    acc_ts = ts(om_acc, C_ACCEPT)
    # a counter dossier is accepted after it is submitted even when both land in one minute
    acc_ts = np.maximum(acc_ts, submit + 60)
    ev[:, C_ACCEPT] = acc_ts
    live = ~refused
    procd = live & (om_proc < om_term)
    ev[procd, C_PROCESS] = ts(om_proc, C_PROCESS)[procd]
    s1 = live & (k_sup >= 1) & (om_s1r < om_term)
    ev[s1, C_S1REQ] = ts(om_s1r, C_S1REQ)[s1]
    s1c = s1 & s1_back & (om_s1c < om_term)
    ev[s1c, C_S1RCV] = ts(om_s1c, C_S1RCV)[s1c]
    s2 = s1c & (k_sup >= 2) & (om_s2r < om_term)
    ev[s2, C_S2REQ] = ts(om_s2r, C_S2REQ)[s2]
    s2c = s2 & s2_back & (om_s2c < om_term)
    ev[s2c, C_S2RCV] = ts(om_s2c, C_S2RCV)[s2c]
    ev[payreq_ok, C_PAYREQ] = ts(om_payreq, C_PAYREQ)[payreq_ok]
    ev[live, C_END] = ts(om_term, C_END)[live]
    ret = live & returned
    ev[ret, C_RETURN] = ts(om_ret, C_RETURN)[ret]
    # statuses per column
    st = np.broadcast_to(COL_STATUS, (n, K)).copy()
    st[refused, C_ACCEPT] = 3
    st[:, C_END] = end_status
    # enforce strictly increasing times among present events (safety net for same-minute ties)
    prev = ev[:, 0].copy()
    for c in range(1, K):
        present = ev[:, c] >= 0
        bump = present & (ev[:, c] <= prev)
        ev[bump, c] = prev[bump] + 1
        prev = np.where(present, ev[:, c], prev)

    # due dates and payment times as seen by the outside
    due = np.where(live, cal.from_office(om_due) + acc_ts % 60, -1)
    due_new = np.full((n, 2), -1, dtype=np.int64)
    due_new[s1c, 0] = (cal.from_office(om_due1) + acc_ts % 60)[s1c]
    due_new[s2c, 1] = (cal.from_office(om_due2) + acc_ts % 60)[s2c]
    paid_ts = np.full(n, -1, dtype=np.int64)
    upfront = (fee > 0) & ~refused & ~pay_later
    paid_ts[upfront] = np.where(online & pay_online, submit, acc_ts)[upfront]
    paid_ts[payreq_ok] = cal.from_office(om_paid, jit[:, C_RETURN])[payreq_ok]
    pay_method = np.where(paid_ts >= 0, pay_method, 0).astype(np.int8)

    last = ev.max(axis=1) if n else np.zeros(0, np.int64)
    if n and (last - submit).max() >= HORIZON_DAYS * DAY:
        raise AssertionError("lifecycle beyond horizon")   # guarded by construction
    # int32 seconds since 2018 last until 2086 and halve the cache footprint
    i32 = np.int32
    return DaySkeleton(agency, di, procs, channel, channel_null, proc, ltype, ev.astype(i32), st,
                       due.astype(i32), due_new.astype(i32), fee.astype(i32), paid_ts.astype(i32),
                       pay_method, eresult & live)


# ------------------------------------------------------------------------- ground truth ----
@dataclass
class Supplement:
    requested: datetime
    received: datetime | None
    due_before: datetime
    due_after: datetime | None


@dataclass
class Dossier:
    """A dossier's full lifecycle, as the generator decided it (ground truth, no faults)."""
    code: str                     # MaHoSo
    agency: str
    received_day: date
    seq: int
    procedure: str                # MaTTHC
    procedure_days: int           # statutory handling time (working days)
    channel: int                  # 1 counter, 2 online, 3 post
    channel_reported: int | None  # what KenhThucHien says (None for some counter dossiers)
    applicant_type: int           # 1 citizen, 2 business, 3 household business
    submitted: datetime
    accepted: datetime | None
    refused: datetime | None
    due: datetime | None          # original due date
    due_effective: datetime | None  # due after supplement extensions
    ended: datetime | None        # NgayKetThucXuLy of the final state
    returned: datetime | None
    final_status: int
    fee: int
    fee_paid_at: datetime | None
    paid_online: int              # 0, 1 national portal, 2 agency gateway
    electronic_result: bool
    supplements: list[Supplement] = field(default_factory=list)
    events: list[tuple[int, datetime, str]] = field(default_factory=list)
    applicant: dict = field(default_factory=dict)

    @property
    def completed(self) -> bool:
        return self.final_status in (9, 10)

    @property
    def on_time(self) -> bool | None:
        """End no later than the due date extended by supplement waits; >1 supplement is late."""
        if not self.completed:
            return None
        if len(self.supplements) > 1:
            return False
        return self.ended <= self.due_effective


def _dt(ts: int) -> datetime | None:
    return None if ts < 0 else from_ts(ts)

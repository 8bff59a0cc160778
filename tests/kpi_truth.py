"""The KPI definitions of docs/kpis.md, computed in plain Python from the simulator's own
lifecycles: an independent check of the pipeline (which computes them in SQL from what it
pulled over HTTP).

The pipeline pulls one window per day; a window holds each dossier's state at its last event
that day. So on day D the pipeline knows a dossier by its last event on a pulled day up to D,
and that is its state at the end of D (`pulled` is the set of days pulled).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta


def _end(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time.min)


def version_at(dossier, day: date, pulled):
    """The dossier's state at the end of `day` as the pipeline sees it, or None if unseen."""
    seen = [e for e in dossier.events if e[1].date() in pulled and e[1].date() <= day]
    if not seen:
        return None
    status, at, _unit = seen[-1]
    supplements = [s for s in dossier.supplements if s.requested <= at]
    extended = [s.due_after for s in supplements if s.received is not None and s.received <= at and s.due_after]
    closed = status in (3, 7, 8, 9, 10)
    return {
        "status": status,
        "at": at,
        "accepted": dossier.accepted if dossier.accepted and dossier.accepted <= at else None,
        "effective_due": extended[-1] if extended else dossier.due,
        "supplement_count": len(supplements),
        "closed_at": (dossier.ended or dossier.refused) if closed else None,
        "channel": dossier.channel_reported or 1,
        "fee": dossier.fee,
        "paid_online": dossier.paid_online if dossier.fee_paid_at and dossier.fee_paid_at <= at else 0,
        "electronic": dossier.electronic_result and status in (9, 10),
        "procedure": dossier.procedure,
    }


def states(dossiers, day: date, pulled):
    """The dossiers counted on one agency-day: open at its end or ended during it (the versions
    of int_dossier_state_intervals whose interval covers the day)."""
    for dossier in dossiers:
        v = version_at(dossier, day, pulled)
        if v is None or (v["closed_at"] is not None and v["closed_at"] < datetime.combine(day, time.min)):
            continue
        yield v


def processed_records(dossiers, day: date, pulled) -> dict:
    start, end = datetime.combine(day, time.min), _end(day)
    c = Counter()
    for v in states(dossiers, day, pulled):
        received = v["accepted"] is not None and start <= v["accepted"] < end
        closed_today = v["closed_at"] is not None
        c["received_total"] += received
        c["received_in_person"] += received and v["channel"] == 1
        c["received_online"] += received and v["channel"] == 2
        c["received_by_post"] += received and v["channel"] == 3
        c["carried_over"] += v["accepted"] is not None and v["accepted"] < start
        completed = closed_today and v["status"] in (9, 10)
        c["completed"] += completed
        c["completed_on_time"] += completed and v["closed_at"] <= v["effective_due"] and v["supplement_count"] <= 1
        c["refused"] += closed_today and v["status"] == 3
        c["withdrawn"] += closed_today and v["status"] == 7
        c["stopped"] += closed_today and v["status"] == 8
        pending = not closed_today and v["accepted"] is not None
        within = pending and v["supplement_count"] <= 1 and (v["status"] == 5 or v["effective_due"] >= end)
        c["pending_within_deadline"] += within
        c["pending_overdue"] += pending and not within
    c["completed_late"] = c["completed"] - c["completed_on_time"]
    return dict(c)


def transaction_volumes(dossiers, day: date, pulled) -> dict:
    start, end = datetime.combine(day, time.min), _end(day)
    c = Counter()
    for v in states(dossiers, day, pulled):
        received = v["accepted"] is not None and start <= v["accepted"] < end
        c["received_total"] += received
        c["received_online"] += received and v["channel"] == 2
        completed = v["closed_at"] is not None and v["status"] in (9, 10)
        c["completed"] += completed
        c["completed_fee_bearing"] += completed and v["fee"] > 0
        paid = completed and v["fee"] > 0 and v["paid_online"] in (1, 2)
        c["completed_paid_online"] += paid
        c["amount_paid_online_vnd"] += v["fee"] if paid else 0
        c["completed_with_electronic_result"] += completed and v["electronic"]
    return dict(c)


def service_coverage(procedures: list[dict], dossiers, day: date, pulled) -> dict:
    start, end = datetime.combine(day, time.min), _end(day)
    online = {p["MaTTHC"] for p in procedures if p["MucDoDVC"] in ("TOAN_TRINH", "MOT_PHAN")}
    used = {
        v["procedure"] for v in states(dossiers, day, pulled)
        if v["channel"] == 2 and v["accepted"] is not None and start <= v["accepted"] < end
    }
    eligible = [p for p in procedures if p["DuDieuKienToanTrinh"]]
    return {
        "procedures_total": len(procedures),
        "procedures_full_process": sum(p["MucDoDVC"] == "TOAN_TRINH" for p in procedures),
        "procedures_partial_online": sum(p["MucDoDVC"] == "MOT_PHAN" for p in procedures),
        "procedures_online": len(online),
        "procedures_eligible_full_process": len(eligible),
        "procedures_eligible_offered_full_process": sum(p["MucDoDVC"] == "TOAN_TRINH" for p in eligible),
        "procedures_online_used": len(online & used),
    }

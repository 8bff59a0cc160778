"""What the API sends for a request: the page, in the agency's variant, with faults applied.

The HTTP layer (server.py) only parses and writes; this module decides the response so the
same logic can be exercised without sockets. Faults recorded here are exactly those served.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from . import faults as F
from .calendar import from_ts, parse_compact
from .simulation import DEFAULT_PAGE_SIZE, BadRequest, Simulation
from .variants import field_name, to_csv

import orjson


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict = field(default_factory=dict)
    drop: bool = False            # close the connection without answering
    delay: float = 0.0            # sleep before answering
    drip: float = 0.0             # send the body one byte per `drip` seconds
    padding: int = 0              # whitespace after the body, without Content-Length, until the client hangs up


def dumps(obj) -> bytes:
    """Compact UTF-8 JSON (orjson: serialising is a large share of serving time)."""
    return orjson.dumps(obj)


def error(status: int, message: str, headers: dict | None = None) -> Response:
    return Response(status, dumps({"error": message}), headers=headers or {})


def window_params(q: dict) -> tuple[datetime, datetime, int]:
    for k in ("updated_from", "updated_to"):
        if not q.get(k):
            raise BadRequest(f"{k} is required (yyyyMMddHHmmss)")
    try:
        f, t = parse_compact(q["updated_from"]), parse_compact(q["updated_to"])
    except ValueError as e:
        raise BadRequest(str(e)) from None
    if t < f:
        raise BadRequest("updated_to is before updated_from")
    try:
        size = int(q.get("page_size") or DEFAULT_PAGE_SIZE)
    except ValueError:
        raise BadRequest("page_size must be an integer") from None
    return f, t, size


def transport_fault(sim: Simulation, url: str, attempt: int, agency: str | None, day: str | None) -> Response | None:
    """flaky: the response for this attempt if it is to fail (or be slow), else None."""
    if "flaky" not in sim.fault_profile:
        return None
    fails = F.flaky_failures(sim.seed, url)
    if attempt > fails:
        return None
    kind = F.flaky_kind(sim.seed, url, attempt)
    sim.fault_log.add(F.Fault(agency, day, kind, None, url, f"attempt {attempt}"), attempt)
    if kind == "drop":
        return Response(drop=True)
    if kind == "slow":
        return Response(delay=sim.slow_seconds)   # then served normally
    if kind == "http_429":
        return error(429, "too many requests", {"Retry-After": F.RETRY_AFTER})
    return error(int(kind[5:]), "simulated upstream failure")


def hostile_answer(sim: Simulation, code: str, endpoint: str, url: str, day: str,
                   foreign_origin: str) -> Response | None:
    """hostile: the answer that replaces the agency's response altogether (a revoked token, an
    HTML maintenance page, a redirect to another origin), else None."""
    kind = sim.hostile(code)
    if kind == "revoked_token":
        sim.fault_log.add(F.Fault(code, day, kind, None, url, "401 whatever the token"))
        return error(401, "token revoked", {"WWW-Authenticate": 'Bearer realm="sim", error="invalid_token"'})
    if endpoint != "dossiers" or kind not in ("html_page", "foreign_redirect"):
        return None
    if kind == "html_page":
        sim.fault_log.add(F.Fault(code, day, kind, None, url, "200 with an HTML maintenance page"))
        return Response(200, F.MAINTENANCE_PAGE, "text/html; charset=utf-8")
    target = f"{foreign_origin}/mirror{url}"
    sim.fault_log.add(F.Fault(code, day, kind, None, url, f"302 to {target}"))
    return Response(302, b"", headers={"Location": target})


def _dirty_item(sim: Simulation, code: str, it: dict, n) -> None:
    """Malform the item if its version is chosen; `n` maps v1 field names to the variant's."""
    mahoso, updated = it[n("MaHoSo")], it[n("NgayCapNhat")]
    kind = F.record_fault(sim.seed, code, mahoso, updated)
    if kind is None:
        return
    day = sim.version_day(updated)
    if kind == "bad_date":
        options = [k for k in F.DIRTY_DATE_FIELDS if it.get(n(k))]
        fld = options[int(F.unit(sim.seed, "which", mahoso) * len(options))]
        old = it[n(fld)]
        it[n(fld)] = F.impossible(old, sim.seed, mahoso)
        detail = f"{fld}: {old} -> {it[n(fld)]}"
    elif kind == "bad_status":
        old = it[n("TrangThaiHoSo")]
        it[n("TrangThaiHoSo")] = 0 if F.unit(sim.seed, "st", mahoso) < 0.5 else 11
        detail = f"TrangThaiHoSo: {old} -> {it[n('TrangThaiHoSo')]}"
    else:
        if not it[n("DanhSachLePhi")]:
            return
        fee = it[n("DanhSachLePhi")][0]
        fee[n("Gia")] = -fee[n("Gia")]
        detail = f"DanhSachLePhi[0].Gia: {-fee[n('Gia')]} -> {fee[n('Gia')]}"
    sim.fault_log.add(F.Fault(code, day, kind, mahoso, None, detail))


def _drift_item(sim: Simulation, code: str, it: dict, n, at: int) -> dict:
    """From the drift date: KenhThucHien renamed KenhNop, MaBuuChinh added after DiaChi.
    Dated by the version's own time `at`: its NgayCapNhat may be one the dirty profile broke."""
    out = {}
    ch, addr = n("KenhThucHien"), n("DiaChi")
    for k, v in it.items():
        if k == ch:
            out[n("KenhNop")] = v
        else:
            out[k] = v
        if k == addr:
            out[n("MaBuuChinh")] = F.postal_code(sim.seed, it[n("MaHoSo")])
    day = from_ts(at).date().isoformat()
    sim.fault_log.add(F.Fault(code, day, "field_added", None, None, "MaBuuChinh"))
    sim.fault_log.add(F.Fault(code, day, "field_renamed", None, None, "KenhThucHien -> KenhNop"))
    return out


def dossiers(sim: Simulation, code: str, q: dict, url: str, attempt: int) -> Response:
    """The page asked for; from the page cache when the simulation keeps one and the page may be kept."""
    key = sim.page_cache_key(code, window_params(q)[1], q)
    if key is None:
        return _dossiers(sim, code, q, url, attempt)
    page = sim.pages.get(key)
    if page is None:
        page = _dossiers(sim, code, q, url, attempt)
        if page.status == 200:
            sim.pages.put(key, page)
    return page


def _dossiers(sim: Simulation, code: str, q: dict, url: str, attempt: int) -> Response:
    f, t, size = window_params(q)
    token = q.get("page_token") or None
    variant = sim.variant(code)
    profile = sim.fault_profile
    # dirty: a window of two items or more always spans pages, so duplicates across pages occur at every scale.
    w, start, stop, nxt = sim.page_bounds(code, f, t, size, token, halves="dirty" in profile)
    hostile = sim.hostile(code)
    window_day = f.date().isoformat()
    if hostile == "cursor_loop":
        nxt = sim.page_token(code, f, t, 0)   # back to the first page, every time
        sim.fault_log.add(F.Fault(code, window_day, hostile, None, url, "next_page_token leads back to the first page"))
    r = sim.renderer(code, variant)

    def n(name: str) -> str:
        return field_name(variant, name)
    items = r.render(sim.page_rows(code, w, start, stop))
    ats = w.at[start:stop].tolist()
    if "dirty" in profile and token and start > 0 and \
            F.duplicate_at_head(sim.seed, code, f"{q['updated_from']}-{q['updated_to']}", int(w.keys[start - 1])):
        dup = r.render(sim.page_rows(code, w, start - 1, start))[0]
        items.insert(0, dup)
        ats.insert(0, int(w.at[start - 1]))
        sim.fault_log.add(F.Fault(code, window_day, "duplicate", dup[n("MaHoSo")], url,
                                  "last item of the previous page repeated at the head of this page"))
    if "dirty" in profile:
        for it in items:
            _dirty_item(sim, code, it, n)
    drift_from = sim.drift(code)
    if drift_from is not None:
        limit = sim.drift_ts(code)
        items = [_drift_item(sim, code, it, n, at) if at >= limit else it for it, at in zip(items, ats)]
    if variant == "v4":
        headers = {"X-Total-Count": str(w.total)}
        if nxt:
            headers["X-Next-Page-Token"] = nxt
        resp = Response(200, to_csv(items), "text/csv; charset=utf-8", headers)
    else:
        resp = Response(200, dumps({"MaDonVi": code, "total": w.total, "items": items, "next_page_token": nxt}))
    if "dirty" in profile and F.truncate_first_attempt(sim.seed, url):
        fails = F.flaky_failures(sim.seed, url) if "flaky" in profile else 0
        if attempt == fails + 1 and fails < 2 and len(resp.body) > 20:
            cut = int(len(resp.body) * (0.4 + 0.5 * F.unit(sim.seed, "cut", url)))
            sim.fault_log.add(F.Fault(code, window_day, "truncated_page", None, url,
                                      f"body cut at {cut} of {len(resp.body)} bytes"), attempt)
            resp.body = resp.body[:cut]
    if hostile == "slow_drip":
        resp.drip = F.DRIP_SECONDS
        sim.fault_log.add(F.Fault(code, window_day, hostile, None, url, f"one byte every {F.DRIP_SECONDS:g} s"))
    elif hostile == "oversized_page":
        resp.padding = F.OVERSIZED_BYTES
        sim.fault_log.add(F.Fault(code, window_day, hostile, None, url,
                                  f"{F.OVERSIZED_BYTES} bytes of whitespace after the page"))
    return resp


__all__ = ["Response", "dossiers", "hostile_answer", "transport_fault", "error", "dumps", "window_params", "from_ts"]

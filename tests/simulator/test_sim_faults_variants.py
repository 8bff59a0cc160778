"""Payload variants and fault profiles: each appears as specified and is recorded."""
import csv
import io
import json
from datetime import date, datetime

import pytest
import requests

from simulator import Simulation, start_server
from simulator.calendar import parse_compact

NOW = datetime(2025, 1, 8)
H24, G12 = "000.00.00.H24", "000.00.00.G12"
F, T = "20250106000000", "20250107000000"


@pytest.fixture
def serve():
    servers = []

    def _serve(**kw):
        kw.setdefault("seed", 42)
        kw.setdefault("scale", 0.01)
        kw.setdefault("now", NOW)
        kw.setdefault("agencies", [H24, G12])
        kw.setdefault("slow_seconds", 0.05)
        sim = Simulation(**kw)
        server, url = start_server(sim)
        servers.append(server)
        return sim, url
    yield _serve
    for s in servers:
        s.shutdown()
        s.server_close()


def _items(r):
    if r.headers["Content-Type"].startswith("text/csv"):
        return list(csv.DictReader(io.StringIO(r.content.decode("utf-8"))))
    return r.json()["items"]


def test_variants_assigned_and_all_present():
    sim = Simulation(seed=42, now=NOW)
    got = {c: sim.variant(c) for c in [a["MaDonVi"] for a in sim.agencies()]}
    assert set(got.values()) == {"v1", "v2", "v3", "v4"}
    assert list(got.values()).count("v4") == 1
    assert got == {c: Simulation(seed=42).variant(c) for c in got}


@pytest.mark.parametrize("variant", ["v1", "v2", "v3", "v4"])
def test_variant_payloads(serve, client, variant):
    sim, url = serve(variants=variant)
    clean = sim.window(H24, parse_compact(F), parse_compact(T))
    pages = client.window(url, H24, sim.token(H24), F, T, 40)
    items = [i for r, _ in pages for i in _items(r)]
    assert len(items) == len(clean) > 40
    first, r0 = items[0], pages[0][0]
    if variant == "v1":
        assert items == clean
    elif variant == "v2":
        assert first["NgayNopHoSo"][4] == "-" and first["NgayNopHoSo"][10] == "T" and len(first["NgayNopHoSo"]) == 19
        assert {i["LoaiDoiTuong"] for i in items} <= {"CONG_DAN", "DOANH_NGHIEP", "HO_KINH_DOANH"}
        assert all(h["ThoiDiem"][10] == "T" for i in items for h in i["QuaTrinhXuLy"])
        assert [i["MaHoSo"] for i in items] == [c["MaHoSo"] for c in clean]
    elif variant == "v3":
        assert set(first) == {k[0].lower() + k[1:] for k in clean[0]}
        assert "maHoSo" in first and "quaTrinhXuLy" in first and "thoiDiem" in first["quaTrinhXuLy"][0]
        assert {i["loaiDoiTuong"] for i in items} <= {"CD", "DN", "HKD"}
        assert first["ngayNopHoSo"] == clean[0]["NgayNopHoSo"]
    else:
        assert r0.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert int(r0.headers["X-Total-Count"]) == len(clean)
        assert "X-Next-Page-Token" in r0.headers and "X-Next-Page-Token" not in pages[-1][0].headers
        assert list(first) == list(clean[0])
        assert [i["MaHoSo"] for i in items] == [c["MaHoSo"] for c in clean]
        assert json.loads(first["QuaTrinhXuLy"]) == clean[0]["QuaTrinhXuLy"]
        assert all(i["NgayTiepNhan"] == (c["NgayTiepNhan"] or "") for i, c in zip(items, clean))


def test_flaky_fails_at_most_twice_and_is_recorded(serve, client):
    sim, url = serve(faults="flaky")
    tok = sim.token(H24)
    kinds, streak_max, served = set(), 0, 0
    for hour in range(0, 24):
        f = f"20250106{hour:02d}0000"
        t = f"20250106{hour:02d}5959"
        r, attempts = client.get(url, f"/api/v1/agencies/{H24}/dossiers", tok, updated_from=f, updated_to=t)
        assert r.status_code == 200
        served += 1
        streak_max = max(streak_max, len(attempts) - 1)
        for status, _ in attempts[:-1]:
            kinds.add(status)
    got = sim.injected_faults(H24)
    assert streak_max <= 2
    recorded_kinds = {x["kind"] for x in got}
    assert recorded_kinds <= {"http_500", "http_502", "http_503", "http_429", "slow", "drop"}
    assert len(recorded_kinds) >= 3
    assert all(x["page"].startswith(f"/api/v1/agencies/{H24}/dossiers?") for x in got)
    r = requests.get(url + "/health", timeout=5)
    assert r.status_code == 200


def test_flaky_429_has_small_retry_after(serve):
    sim, url = serve(faults="flaky")
    tok = sim.token(H24)
    seen = 0
    for minute in range(60):
        p = {"updated_from": f"202501060{minute // 10}{minute % 10}0000"[:14], "updated_to": "20250107000000"}
        for _ in range(3):
            try:
                r = requests.get(f"{url}/api/v1/agencies/{H24}/dossiers", params=p,
                                 headers={"Authorization": f"Bearer {tok}"}, timeout=30)
            except requests.ConnectionError:
                continue
            if r.status_code == 429:
                seen += 1
                assert 0 < float(r.headers["Retry-After"]) <= 1
    assert seen >= 1


def test_flaky_failures_match_log_exactly(serve, client):
    sim, url = serve(faults="flaky")
    tok = sim.token(G12)
    failed = []
    for hour in range(8, 20):
        p = {"updated_from": f"20250106{hour:02d}0000", "updated_to": f"20250106{hour + 1:02d}0000"}
        r, attempts = client.get(url, f"/api/v1/agencies/{G12}/dossiers", tok, **p)
        failed += [a[0] for a in attempts[:-1]]
    log = [x for x in sim.injected_faults(G12) if x["kind"] != "slow"]
    as_status = sorted(("dropped" if x["kind"] == "drop" else int(x["kind"][5:]) for x in log), key=str)
    assert sorted(failed, key=str) == sorted(as_status, key=str)


def test_dirty_records_and_pages(serve, client):
    sim, url = serve(faults="dirty", variants="v1", agencies=[G12])
    pages = client.window(url, G12, sim.token(G12), F, T, 100)
    total = pages[0][0].json()["total"]
    items = [i for r, _ in pages for i in r.json()["items"]]
    clean = sim.window(G12, parse_compact(F), parse_compact(T))
    assert total == len(clean)
    log = sim.injected_faults(G12)
    kinds = {x["kind"] for x in log}
    assert {"bad_date", "bad_status", "negative_fee", "duplicate", "truncated_page"} <= kinds
    # duplicates: exactly the logged ones, each at the head of a page; total does not count them
    dups = [x["dossier"] for x in log if x["kind"] == "duplicate"]
    codes = [i["MaHoSo"] for i in items]
    assert len(codes) - len(set(codes)) == len(dups)
    assert set(codes) == {c["MaHoSo"] for c in clean}
    # malformed records: exactly those logged, and as predicted without HTTP
    by_code = {c["MaHoSo"]: c for c in clean}
    bad = {i["MaHoSo"] for i in items if i != by_code[i["MaHoSo"]]}
    logged = {x["dossier"] for x in log if x["kind"] in ("bad_date", "bad_status", "negative_fee")}
    assert bad == logged
    predicted = {x["dossier"] for x in sim.record_faults(G12, parse_compact(F), parse_compact(T))}
    assert predicted == logged
    for x in log:
        it = next(i for i in items if i["MaHoSo"] == x["dossier"]) if x["dossier"] else None
        if x["kind"] == "bad_status":
            assert it["TrangThaiHoSo"] in (0, 11)
        elif x["kind"] == "negative_fee":
            assert it["DanhSachLePhi"][0]["Gia"] < 0
        elif x["kind"] == "bad_date":
            field = x["detail"].split(":")[0]
            with pytest.raises(ValueError):
                datetime.strptime(it[field], "%Y%m%d%H%M%S")
    # a truncated page is cut on its first attempt only
    cut = [x["page"] for x in log if x["kind"] == "truncated_page"]
    for r, attempts in pages:
        if r.url.replace(url, "") in cut:
            assert len(attempts) == 2
            with pytest.raises(ValueError):
                json.loads(attempts[0][1])


def test_drift_from_date(serve, client):
    sim, url = serve(faults="drift", variants="v1", agencies=None, drift_from=date(2025, 1, 6))
    drifting = [a["MaDonVi"] for a in sim.agencies() if sim.drift(a["MaDonVi"])]
    steady = [a["MaDonVi"] for a in sim.agencies() if not sim.drift(a["MaDonVi"])]
    assert drifting and steady
    code = next(c for c in drifting if sim.variant(c) == "v1" and ".H" in c and sim.agency(c).valid_on(date(2025, 1, 6)))
    tok = sim.token(code)
    before = client.window(url, code, tok, "20250105000000", "20250106000000")[0][0].json()["items"]
    after = client.window(url, code, tok, "20250106000000", "20250107000000")[0][0].json()["items"]
    assert before and after
    assert all("KenhThucHien" in i and "KenhNop" not in i and "MaBuuChinh" not in i for i in before)
    assert all("KenhNop" in i and "KenhThucHien" not in i and len(i["MaBuuChinh"]) == 5 for i in after)
    log = sim.injected_faults(code)
    assert {(x["kind"], x["day"]) for x in log} == {("field_added", "2025-01-06"), ("field_renamed", "2025-01-06")}
    assert sim.injected_faults(steady[0]) == []


def test_off_switch(serve, client):
    sim, url = serve(off={H24: date(2025, 1, 6)})
    tok = sim.token(H24)
    on = client.window(url, H24, tok, "20250105000000", "20250106000000")[0][0].json()
    off = client.window(url, H24, tok, "20250106000000", "20250107000000")[0][0].json()
    assert on["total"] > 0 and off["total"] == 0 and off["items"] == []
    straddle = client.window(url, H24, tok, "20250105120000", "20250107000000", 5000)[0][0].json()
    assert all(i["NgayCapNhat"] < "20250106000000" for i in straddle["items"])


def test_none_profile_injects_nothing(served, client):
    sim, url = served
    client.window(url, H24, sim.token(H24), F, T)
    assert sim.injected_faults() == []


def test_drift_is_dated_by_the_version_never_by_a_date_the_dirty_profile_broke(serve, client):
    sim, url = serve(faults="dirty,drift", variants="v1", agencies=None, drift_from=date(2025, 1, 6))
    drifting = [c for c in sim.agency_codes(date(2025, 1, 6)) if sim.drift(c)]
    for code in drifting:
        client.window(url, code, sim.token(code), F, T, 5000)
    log = sim.injected_faults()
    broken_version_times = [x for x in log if x["kind"] == "bad_date" and x["detail"].startswith("NgayCapNhat:")
                            and x["agency"] in drifting]
    assert broken_version_times, "the window holds versions whose NgayCapNhat the dirty profile broke"
    assert {x["day"] for x in log if x["kind"] in ("field_added", "field_renamed")} == {"2025-01-06"}

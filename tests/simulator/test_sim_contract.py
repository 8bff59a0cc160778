"""The HTTP contract of docs/source-api.md, against a live loopback server."""
from datetime import datetime

import orjson
import requests

from simulator.calendar import parse_compact

G12 = "000.00.00.G12"
H24 = "000.00.00.H24"


def get(url, path, token=None, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(url + path, params=params, headers=headers, timeout=30)


def test_health(served):
    _, url = served
    r = get(url, "/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_registry_public_and_shaped(served):
    sim, url = served
    r = get(url, "/api/v1/agencies")
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == len(body["items"]) == len(sim.agencies())
    assert body["items"] == sim.agencies()
    keys = {"MaDonVi", "TenDonVi", "TenDonViTiengAnh", "CapDonVi", "MaTinhGSO", "HieuLucTu", "HieuLucDen", "DonViKeThua"}
    for a in body["items"]:
        assert set(a) == keys
        assert a["CapDonVi"] in ("BO", "TINH")
        if a["CapDonVi"] == "TINH":
            assert isinstance(a["MaTinhGSO"], str) and len(a["MaTinhGSO"]) == 2
        else:
            assert a["MaTinhGSO"] is None
    assert sum(a["CapDonVi"] == "BO" for a in body["items"]) >= 3
    assert sum(a["CapDonVi"] == "TINH" for a in body["items"]) >= 5


def test_auth_and_unknown(served):
    sim, url = served
    p = f"/api/v1/agencies/{G12}/dossiers"
    win = {"updated_from": "20250106000000", "updated_to": "20250107000000"}
    assert get(url, p, **win).status_code == 401
    assert get(url, p, token="nope", **win).status_code == 401
    assert get(url, p, token=sim.token(H24), **win).status_code == 401  # another agency's token
    assert get(url, f"/api/v1/agencies/{G12}/procedures").status_code == 401
    r = get(url, "/api/v1/agencies/000.00.00.G99/dossiers", token=sim.token(G12), **win)
    assert r.status_code == 404 and "error" in r.json()
    assert get(url, p, token=sim.token(G12), **win).status_code == 200


def test_bad_params(served):
    sim, url = served
    p = f"/api/v1/agencies/{G12}/dossiers"
    tok = sim.token(G12)
    for params in [{}, {"updated_from": "20250106000000"},
                   {"updated_from": "2025-01-06", "updated_to": "20250107000000"},
                   {"updated_from": "20250107000000", "updated_to": "20250106000000"},
                   {"updated_from": "20250106000000", "updated_to": "20250107000000", "page_size": "5001"},
                   {"updated_from": "20250106000000", "updated_to": "20250107000000", "page_size": "0"},
                   {"updated_from": "20250106000000", "updated_to": "20250107000000", "page_size": "x"},
                   {"updated_from": "20250106000000", "updated_to": "20250107000000", "page_token": "garbage"}]:
        r = get(url, p, token=tok, **params)
        assert r.status_code == 400, params
        assert "error" in r.json()
    r = get(url, f"/api/v1/agencies/{G12}/procedures", token=tok, as_of="2025-13-01")
    assert r.status_code == 400


def test_procedures(served):
    sim, url = served
    r = get(url, f"/api/v1/agencies/{H24}/procedures", token=sim.token(H24), as_of="2024-06-01")
    body = r.json()
    assert r.status_code == 200 and body["as_of"] == "2024-06-01" and body["MaDonVi"] == H24
    from datetime import date
    assert body["items"] == sim.procedures(H24, date(2024, 6, 1))
    assert body["total"] == len(body["items"]) >= 100
    it = body["items"][0]
    assert set(it) == {"MaTTHC", "TenTTHC", "LinhVuc", "ThoiHanGiaiQuyet", "CoPhiLePhi", "MucPhi", "MucDoDVC", "DuDieuKienToanTrinh"}
    assert all(i["MucDoDVC"] in ("TOAN_TRINH", "MOT_PHAN", "KHONG") for i in body["items"])
    # default as_of is the simulator's today
    r = get(url, f"/api/v1/agencies/{H24}/procedures", token=sim.token(H24))
    assert r.json()["as_of"] == sim.now.date().isoformat()
    # online level is upgraded over time
    old = {i["MaTTHC"]: i["MucDoDVC"] for i in sim.procedures(H24, date(2019, 6, 1))}
    new = {i["MaTTHC"]: i["MucDoDVC"] for i in sim.procedures(H24, date(2025, 6, 1))}
    rank = {"KHONG": 0, "MOT_PHAN": 1, "TOAN_TRINH": 2}
    assert any(rank[new[c]] > rank[old[c]] for c in old)
    assert all(rank[new[c]] >= rank[old[c]] for c in old)


def _fetch_all(url, token, code, f, t, size):
    items, tok, pages, totals = [], None, 0, set()
    while True:
        params = {"updated_from": f, "updated_to": t, "page_size": size}
        if tok:
            params["page_token"] = tok
        r = get(url, f"/api/v1/agencies/{code}/dossiers", token=token, **params)
        assert r.status_code == 200
        body = r.json()
        totals.add(body["total"])
        items += body["items"]
        pages += 1
        tok = body["next_page_token"]
        if tok is None:
            return items, totals, pages


def test_pagination_covers_window_once(served):
    sim, url = served
    f, t = "20250106000000", "20250107120000"
    items, totals, pages = _fetch_all(url, sim.token(G12), G12, f, t, 137)
    assert totals == {len(items)}
    assert pages == -(-len(items) // 137)
    codes = [i["MaHoSo"] for i in items]
    assert len(codes) == len(set(codes))
    keys = [(i["NgayCapNhat"], i["MaHoSo"]) for i in items]
    assert keys == sorted(keys)
    assert all(f <= i["NgayCapNhat"] < t for i in items)
    assert items == sim.window(G12, parse_compact(f), parse_compact(t))


def test_nothing_after_now(served):
    sim, url = served
    items, totals, _ = _fetch_all(url, sim.token(H24), H24, "20250107000000", "20250110000000", 5000)
    now = sim.now.strftime("%Y%m%d%H%M%S")
    assert items and all(i["NgayCapNhat"] < now for i in items)
    for i in items:
        assert all(e["ThoiDiem"] < now for e in i["QuaTrinhXuLy"])


def test_window_matches_versions(sim):
    f, t = datetime(2025, 1, 3, 8), datetime(2025, 1, 3, 12)
    for item in sim.window(H24, f, t):
        assert item == sim.version(item["MaHoSo"], parse_compact(item["NgayCapNhat"]))
        assert item["QuaTrinhXuLy"][-1]["ThoiDiem"] == item["NgayCapNhat"]


def test_big_windows_keep_a_light_index(sim):
    """A window too big for the cache budget is indexed lightly and renders the same items."""
    from simulator import Simulation
    light = Simulation(seed=42, scale=0.01, now=sim.now, agencies=[H24], variants="v1", window_cache_bytes=10_000)
    f, t = datetime(2025, 1, 2), datetime(2025, 1, 7)
    w = light.window_index(H24, f, t)
    assert w.rows is None and w.total > 100
    assert light.window(H24, f, t) == sim.window(H24, f, t)
    items, total, nxt = light.page(H24, f, t, 70)
    assert total == w.total and items == sim.window(H24, f, t)[:70]
    more, _, _ = light.page(H24, f, t, 70, nxt)
    assert more == sim.window(H24, f, t)[70:140]


def test_the_page_cache_sends_closed_windows_again_byte_for_byte(sim):
    """Pages of a closed window are kept and sent again as they were; an open window, or a
    simulation with faults to log, is rendered each time."""
    from simulator import Simulation, api

    cached = Simulation(seed=42, scale=0.01, now=sim.now, agencies=[H24], variants="v1", page_cache_bytes=2**24)
    closed = {"updated_from": "20250106000000", "updated_to": "20250107000000", "page_size": "50"}
    first = api.dossiers(cached, H24, closed, "/closed", 1)
    token = orjson.loads(first.body)["next_page_token"]
    second = api.dossiers(cached, H24, {**closed, "page_token": token}, "/closed-2", 1)
    assert api.dossiers(cached, H24, closed, "/closed", 1) is first  # from the cache
    assert first.body == api.dossiers(sim, H24, closed, "/closed", 1).body  # the bytes an uncached server sends
    assert second.body == api.dossiers(sim, H24, {**closed, "page_token": token}, "/closed-2", 1).body
    assert len(cached.pages.data) == 2

    still_open = {"updated_from": "20250107000000", "updated_to": "20250109000000", "page_size": "50"}
    api.dossiers(cached, H24, still_open, "/open", 1)
    faulty = Simulation(seed=42, scale=0.01, faults="dirty", now=sim.now, agencies=[H24], page_cache_bytes=2**24)
    api.dossiers(faulty, H24, closed, "/closed", 1)
    assert len(cached.pages.data) == 2 and not faulty.pages.data

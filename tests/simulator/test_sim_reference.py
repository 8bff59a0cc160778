"""Registry (ministries, the 2025 province merger), holiday calendar, volumes and catalogues."""
import csv
from collections import Counter
from datetime import date, timedelta

from simulator import Simulation
from simulator.calendar import HOLIDAYS_CSV, calendar
from simulator.volumes import online_share


def test_registry_boundaries():
    sim = Simulation(seed=1)
    reg = {a["MaDonVi"]: a for a in sim.agencies()}
    assert len(reg) == len(sim.agencies())           # codes unique

    def count(level, d):
        return sum(1 for c in sim.agency_codes(d) if reg[c]["CapDonVi"] == level)
    assert count("BO", date(2025, 2, 28)) == 22 and count("BO", date(2025, 3, 1)) == 17
    assert count("TINH", date(2025, 6, 30)) == 63 and count("TINH", date(2025, 7, 1)) == 34
    for a in reg.values():
        assert a["MaDonVi"].startswith("000.00.00.G" if a["CapDonVi"] == "BO" else "000.00.00.H")
        if a["HieuLucDen"]:
            succ = reg[a["DonViKeThua"]]
            assert succ["CapDonVi"] == a["CapDonVi"]
            end = date.fromisoformat(a["HieuLucDen"])
            assert sim.agency(succ["MaDonVi"]).valid_on(end + timedelta(days=1))
        else:
            assert a["DonViKeThua"] is None
    assert reg["000.00.00.G12"]["TenDonVi"] == "Bộ Tài chính"
    # GSO codes are 2-character strings, never derived from the H-number
    gso = {a["MaTinhGSO"] for a in reg.values() if a["CapDonVi"] == "TINH"}
    assert "01" in gso and all(len(g) == 2 for g in gso)
    assert any(a["MaDonVi"][-2:] != a["MaTinhGSO"] for a in reg.values() if a["CapDonVi"] == "TINH")
    # every legacy province maps to exactly one current province
    current = set(sim.agency_codes(date(2025, 7, 1)))
    for c in sim.agency_codes(date(2025, 6, 30)):
        if reg[c]["CapDonVi"] == "TINH":
            assert c in current or reg[c]["DonViKeThua"] in current
    hcm = [a for a in reg.values() if a["TenDonVi"] == "Thành phố Hồ Chí Minh"]
    assert len(hcm) == 2 and sum(1 for a in reg.values() if a["DonViKeThua"] == [h for h in hcm if h["HieuLucDen"] is None][0]["MaDonVi"]) == 3


def test_holiday_file():
    with open(HOLIDAYS_CSV, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["date", "name_vi", "name_en"]
    days = [date.fromisoformat(r["date"]) for r in rows]
    assert days == sorted(days) and len(set(days)) == len(days)
    years = Counter(d.year for d in days)
    assert set(years) == set(range(2019, 2028))
    tet = {2019: date(2019, 2, 5), 2020: date(2020, 1, 25), 2021: date(2021, 2, 12), 2022: date(2022, 2, 1),
           2023: date(2023, 1, 22), 2024: date(2024, 2, 10), 2025: date(2025, 1, 29), 2026: date(2026, 2, 17),
           2027: date(2027, 2, 6)}
    for y, d in tet.items():
        assert d in days and (d - timedelta(days=1)) in days
        assert date(y, 4, 30) in days and date(y, 5, 1) in days and date(y, 9, 2) in days and date(y, 1, 1) in days
    cal = calendar()
    assert not cal.working(date(2025, 1, 29)) and not cal.working(date(2025, 4, 7))   # Tết, Hùng Kings
    assert not cal.working(date(2025, 9, 1)) and cal.working(date(2025, 9, 3))
    assert cal.add_working_days(date(2025, 1, 24), 1) == date(2025, 2, 3)


def test_online_share_trend():
    assert 0.08 < 0.85 * online_share(date(2019, 1, 1), "BO") + 0.15 * online_share(date(2019, 1, 1), "TINH") < 0.13
    assert 0.5 < 0.85 * online_share(date(2025, 1, 1), "BO") + 0.15 * online_share(date(2025, 1, 1), "TINH") < 0.6
    assert online_share(date(2025, 1, 1), "BO") > online_share(date(2025, 1, 1), "TINH")


def test_volumes_calibrated():
    sim = Simulation(seed=3, scale=0.02, agencies=["000.00.00.G12", "000.00.00.G01", "000.00.00.H24", "000.00.00.H35"])
    d = date(2024, 10, 8)   # an ordinary Tuesday
    n = {c: len(sim.day(c, d).channel) for c in ["000.00.00.G12", "000.00.00.G01", "000.00.00.H24", "000.00.00.H35"]}
    assert 1.8 < n["000.00.00.G12"] / n["000.00.00.G01"] < 2.8                # 20 M vs 8.8 M a year
    assert n["000.00.00.H24"] > n["000.00.00.H35"]
    sat = len(sim.day("000.00.00.G12", date(2024, 10, 12)).channel)
    assert sat < 0.4 * n["000.00.00.G12"]
    tet = len(sim.day("000.00.00.G12", date(2024, 2, 12)).channel)
    assert tet < 0.3 * n["000.00.00.G12"]


def test_catalogue_sizes():
    sim = Simulation(seed=5)
    d = date(2025, 1, 2)
    bo = [len(sim.procedures(c, d)) for c in sim.agency_codes(d) if ".G" in c]
    tinh = [len(sim.procedures(c, d)) for c in sim.agency_codes(d) if ".H" in c]
    assert min(bo) >= 10 and max(bo) < 100
    assert min(tinh) >= 100
    p = sim.procedures("000.00.00.H24", d)
    assert len({x["MaTTHC"] for x in p}) == len(p)
    assert all(x["MucPhi"] == 0 for x in p if not x["CoPhiLePhi"]) and any(x["CoPhiLePhi"] for x in p)

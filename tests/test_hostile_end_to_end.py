"""The whole graph with misbehaving agencies among well-behaved ones (the simulator's hostile
profile): the hostile agency-days fail by name, nothing of theirs reaches the KPIs (not the
foreign page a redirect pointed to), and the others' KPIs publish."""

from datetime import date, datetime

import pytest

from tests.helpers import read_marts, run_graph

DAY = date(2025, 3, 4)
# Each misbehaving agency-day fails within its page deadline; Dagster then retries the asset
# twice (5 s, then 10 s: its RetryPolicy), so the whole run stays within minutes.
PAGE_DEADLINE_SECONDS = "3"


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    from simulator import Simulation

    sim = Simulation(seed=3, scale=0.002, faults="hostile", now=datetime(2025, 3, 6))
    hostile = {kind: code for code, kind in sim.hostile_agencies().items()}
    misbehaving = [hostile["foreign_redirect"], hostile["slow_drip"]]
    normal = [c for c in sim.agency_codes(DAY) if sim.hostile(c) is None][:3]
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("EGOV_SOURCE_PAGE_DEADLINE_SECONDS", PAGE_DEADLINE_SECONDS)
    try:
        data, report = run_graph(sim, tmp_path_factory.mktemp("hostile_e2e"), [DAY], misbehaving + normal)
    finally:
        monkeypatch.undo()
    tables = read_marts(data, ("kpi_processed_records", "kpi_transaction_volumes"))
    return misbehaving, normal, report, tables


def test_the_misbehaving_agency_days_fail_by_name_and_the_others_publish(hostile_run):
    misbehaving, normal, report, tables = hostile_run
    assert sorted(report.failed) == sorted(f"{code} {DAY}" for code in misbehaving)
    assert report.kpi_ok
    for name, table in tables.items():
        daily = table[(table["period"] == "day") & (table["geography"] == "as_was")]
        published = set(daily["agency_code"])
        assert set(normal) <= published, name
        assert not published & set(misbehaving), (name, published & set(misbehaving))

"""Stocks are published only where the history behind them is complete (docs/kpis.md, "Is a
figure complete?"), and then agree with the simulator's ground truth computed from every day,
however far back: the independent recomputation the issue asks for, on the released files.

Two agencies over the look-back and three days after it; the province misses one day ten days
before the first, so its stocks (and the nation's) stay incomplete for the look-back after it."""

from datetime import date, datetime, timedelta

import dagster as dg
import pandas as pd
import pytest

from pipelines.lib.agency_days import date_range
from pipelines.lib.reference import STOCK_LOOKBACK_DAYS
from pipelines.lib.release.suppression import INCOMPLETE, PUBLISHED
from tests import kpi_truth
from tests.helpers import build_kpis, ingest_days, register, serve
from tests.release.attacker import attack, read_release
from tests.release.test_attacker import TABLES

FIRST = date(2025, 3, 3)
DAYS = [FIRST + timedelta(days=n) for n in range(3)]
HELD = date_range(FIRST - timedelta(days=STOCK_LOOKBACK_DAYS), DAYS[-1])
GAP = FIRST - timedelta(days=10)
SEED = 20250304
STOCK_COLUMNS = ("carried_over", "pending_within_deadline", "pending_overdue")


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    from simulator import Simulation

    root = tmp_path_factory.mktemp("history")
    sim = Simulation(seed=SEED, scale=0.02, faults="none", now=datetime(2025, 3, 7, 6, 0))
    lasting = [a["MaDonVi"] for a in sim.agencies() if a["HieuLucTu"] <= "2024-01-01" and a["HieuLucDen"] is None]
    ministry, province = next(c for c in lasting if ".G" in c), next(c for c in lasting if ".H" in c)
    monkeypatch = pytest.MonkeyPatch()
    data = root / "data"
    monkeypatch.setenv("EGOV_DATA_DIR", str(data))
    server = serve(sim, root, monkeypatch)
    try:
        from pipelines.definitions import defs

        with dg.DagsterInstance.ephemeral() as instance:
            assert register(defs, instance)
            assert ingest_days(defs, instance, HELD, [ministry]) == []
            assert ingest_days(defs, instance, [d for d in HELD if d != GAP], [province]) == []
            assert build_kpis(defs, instance)
    finally:
        server.shutdown()
        monkeypatch.undo()
    latest = data / "open" / "latest"
    tables = {name: pd.read_parquet(latest / f"{name}.parquet") for name in ("kpi_processed_records", "kpi_scores")}
    yield sim, ministry, province, tables, latest


def rows(table, code, period="day", geography="as_was"):
    picked = table[(table["agency_code"] == code) & (table["period"] == period) & (table["geography"] == geography)]
    return picked.set_index(pd.to_datetime(picked["period_start"]).dt.date)


def test_published_stocks_agree_with_a_complete_history(release):
    sim, ministry, _province, tables, _latest = release
    # Every dossier that could be open on the first day and more (the simulator's lifecycles end
    # within 80 days): the truth of a complete history.
    everything = date_range(FIRST - timedelta(days=STOCK_LOOKBACK_DAYS + 30), DAYS[-1])
    dossiers = [d for day in everything for d in sim.dossiers(ministry, day)]
    published = rows(tables["kpi_processed_records"], ministry)
    compared = 0
    for day in DAYS:
        row = published.loc[day]
        assert row["stocks_complete"], day
        truth = kpi_truth.processed_records(dossiers, day, set(everything))
        for column in STOCK_COLUMNS:
            if row[f"{column}_status"] == PUBLISHED:
                assert row[column] == truth[column], (day, column)
                compared += 1
    assert compared >= 6  # most cells are large enough to publish at this scale


def test_stocks_of_the_days_with_a_short_history_are_not_published(release):
    _sim, ministry, province, tables, _latest = release
    processed, scores = rows(tables["kpi_processed_records"], ministry), rows(tables["kpi_scores"], ministry)
    short = HELD[STOCK_LOOKBACK_DAYS - 1]  # the last day whose look-back reaches before the first held
    assert not processed.loc[short, "stocks_complete"] and processed.loc[DAYS[0], "stocks_complete"]
    for column in (*STOCK_COLUMNS, "on_time_numerator", "on_time_denominator", "on_time_rate"):
        assert processed.loc[short, f"{column}_status"] == INCOMPLETE and pd.isna(processed.loc[short, column]), column
    for column in ("points_handling_progress", "points_total", "score_rate"):
        assert scores.loc[short, f"{column}_status"] == INCOMPLETE, column
    # Flows do not lean on the stock: published as usual.
    assert processed.loc[short, "received_total_status"] != INCOMPLETE
    assert scores.loc[short, "points_online_service_status"] != INCOMPLETE
    # A day missing in the province's look-back: its days after it and the nation's are incomplete.
    province_rows = rows(tables["kpi_processed_records"], province)
    assert not province_rows.loc[DAYS[0], "stocks_complete"]
    assert (province_rows.loc[DAYS[0], [f"{c}_status" for c in STOCK_COLUMNS]] == INCOMPLETE).all()
    national = rows(tables["kpi_processed_records"], "VN")
    assert not national.loc[DAYS[0], "stocks_complete"]
    assert national.loc[DAYS[0], "carried_over_status"] == INCOMPLETE


def test_a_partial_month_says_so(release):
    _sim, ministry, province, tables, _latest = release
    march = rows(tables["kpi_processed_records"], ministry, "month").loc[date(2025, 3, 1)]
    assert (march["agency_days_reported"], march["agency_days_expected"], march["period_complete"]) == (5, 31, False)
    january = rows(tables["kpi_processed_records"], ministry, "month").loc[date(2025, 1, 1)]
    assert (january["agency_days_reported"], january["agency_days_expected"], january["period_complete"]) == (31, 31, True)
    february = rows(tables["kpi_processed_records"], province, "month").loc[date(2025, 2, 1)]
    assert (february["agency_days_reported"], february["period_complete"]) == (27, False)  # the gap


def test_no_hidden_count_is_recovered_from_a_release_with_incomplete_history(release):
    *_, latest = release
    frames, lineage, rules = read_release(latest, list(TABLES))
    assert [str(r) for r in attack(frames, lineage, rules)] == []

"""KPIs across the 2025 boundary changes, in both geographies, against the simulator's truth.

Sample days over 2025, before and after the 1 July merger of provinces (and a ministry merged
in early 2025): each published figure, as it was and as it is today, must equal an
independent computation from the generator's own lifecycles.
"""

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from tests import kpi_truth
from tests.helpers import read_marts, run_graph

DAYS = [date(2025, 1, 6), date(2025, 4, 8), date(2025, 6, 30), date(2025, 7, 1), date(2025, 7, 2),
        date(2025, 10, 7), date(2025, 12, 30)]
PULLED = set(DAYS)
SEED = 766


def choose_agencies(sim) -> tuple[list[str], dict[str, str]]:
    """A province merged from two or more, its predecessors, a merged ministry and its successor,
    and a province the merger left alone; with each code's agency of today."""
    registry = {a["MaDonVi"]: a for a in sim.agencies()}
    successor = {code: a["DonViKeThua"] for code, a in registry.items() if a["DonViKeThua"]}
    predecessors = defaultdict(list)
    for old, new in successor.items():
        predecessors[new].append(old)
    province = next(new for new, olds in sorted(predecessors.items()) if ".H" in new and len(olds) >= 2)
    ministry = next(new for new, olds in sorted(predecessors.items()) if ".G" in new)
    unchanged = next(code for code, a in sorted(registry.items())
                     if ".H" in code and a["HieuLucDen"] is None and a["HieuLucTu"] < "2025" and code not in predecessors)
    chosen = [province, *predecessors[province][:3], ministry, *predecessors[ministry], unchanged]
    as_is = {}
    for code in chosen:
        current = code
        while current in successor:
            current = successor[current]
        as_is[code] = current
    return chosen, as_is


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from simulator import Simulation

    sim = Simulation(seed=SEED, scale=0.01, faults="none", now=datetime(2026, 1, 5))
    chosen, as_is = choose_agencies(sim)
    data, report = run_graph(sim, tmp_path_factory.mktemp("geo"), DAYS, chosen)
    assert report.failed == [] and report.kpi_ok
    marts = read_marts(data, ("kpi_processed_records", "kpi_transaction_volumes", "kpi_service_coverage"))
    first = DAYS[0] - timedelta(days=90)
    lifecycles = {
        code: [d for n in range((DAYS[-1] - first).days + 1) for d in sim.dossiers(code, first + timedelta(days=n))]
        for code in chosen
    }
    return sim, chosen, as_is, marts, lifecycles


def valid_on(sim, code, day, tail_days=0):
    """Valid that day per the registry; with a tail, also that many days after it ceased."""
    agency = next(a for a in sim.agencies() if a["MaDonVi"] == code)
    ends = agency["HieuLucDen"] and date.fromisoformat(agency["HieuLucDen"]) + timedelta(days=tail_days)
    return agency["HieuLucTu"] <= day.isoformat() and (ends is None or day <= ends)


def reports_on(sim, code, day):
    """A merged agency still reports its open dossiers for up to 90 days after its last day."""
    return valid_on(sim, code, day, tail_days=90)


def truth_for(sim, code, day, lifecycles) -> dict:
    dossiers = lifecycles[code]
    return {
        "kpi_processed_records": kpi_truth.processed_records(dossiers, day, PULLED),
        "kpi_transaction_volumes": kpi_truth.transaction_volumes(dossiers, day, PULLED),
        "kpi_service_coverage": kpi_truth.service_coverage(sim.procedures(code, day), dossiers, day, PULLED),
    }


def published(marts, table, period, start, geography, code) -> dict:
    frame = marts[table]
    rows = frame[(frame["period"] == period) & (frame["period_start"] == pd.Timestamp(start))
                 & (frame["geography"] == geography) & (frame["agency_code"] == code)]
    assert len(rows) == 1, f"{table} {period} {start} {geography} {code}: {len(rows)} rows"
    return rows.iloc[0].to_dict()


def test_the_sample_crosses_the_merger(run):
    sim, chosen, as_is, _marts, _lifecycles = run
    before = [c for c in chosen if valid_on(sim, c, date(2025, 6, 30))]
    after = [c for c in chosen if valid_on(sim, c, date(2025, 7, 1))]
    assert set(before) != set(after)
    assert any(as_is[c] != c for c in before), "some agency of 30 June must report under another code today"
    tail = [c for c in chosen if reports_on(sim, c, date(2025, 7, 2)) and not valid_on(sim, c, date(2025, 7, 2))]
    assert tail, "ceased agencies still report their open dossiers in early July"


def test_daily_figures_as_they_were_and_as_they_are(run):
    sim, chosen, as_is, marts, lifecycles = run
    compared = 0
    for day in DAYS:
        reporting = [c for c in chosen if reports_on(sim, c, day)]
        today = defaultdict(lambda: defaultdict(Counter))
        for code in reporting:
            truths = truth_for(sim, code, day, lifecycles)
            for table, truth in truths.items():
                row = published(marts, table, "day", day, "as_was", code)
                for column, expected in truth.items():
                    assert row[column] == expected, f"as_was {table}.{column} {code} {day}"
                    compared += 1
                today[as_is[code]][table].update(truth)
        for current, tables in today.items():
            for table, truth in tables.items():
                row = published(marts, table, "day", day, "as_is", current)
                for column, expected in truth.items():
                    assert row[column] == expected, f"as_is {table}.{column} {current} {day}"
                    compared += 1
    assert compared > 500


def test_a_month_sums_its_flows_and_keeps_its_closing_stocks(run):
    sim, chosen, as_is, marts, lifecycles = run
    july = [d for d in DAYS if d.month == 7 and d.year == 2025]
    for code in [c for c in chosen if reports_on(sim, c, july[0])]:
        daily = [kpi_truth.processed_records(lifecycles[code], d, PULLED) for d in july]
        row = published(marts, "kpi_processed_records", "month", date(2025, 7, 1), "as_was", code)
        for column in ("received_total", "received_online", "completed", "completed_on_time", "refused", "withdrawn"):
            assert row[column] == sum(d[column] for d in daily), f"month {column} {code}"
        for column in ("pending_within_deadline", "pending_overdue"):
            assert row[column] == daily[-1][column], f"month {column} {code}"
        assert row["carried_over"] == daily[0]["carried_over"]
        assert row["agency_days_reported"] == len(july)


def test_the_national_total_is_the_sum_of_agencies(run):
    _sim, _chosen, _as_is, marts, _lifecycles = run
    frame = marts["kpi_processed_records"]
    daily = frame[(frame["period"] == "day") & (frame["geography"] == "as_was")]
    agencies = daily[daily["agency_code"] != "VN"].groupby("period_start")["received_total"].sum()
    national = daily[daily["agency_code"] == "VN"].set_index("period_start")["received_total"]
    pd.testing.assert_series_equal(agencies.sort_index(), national.sort_index(), check_names=False)

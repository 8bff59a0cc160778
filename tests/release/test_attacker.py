"""No hidden cell recoverable: the attacker of tests/release/attacker.py, given only the
published cells, must not pin any hidden count; on hand-made releases (each a known edge case)
and on the release the pipeline publishes."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from pipelines.lib.release import memo, suppression
from pipelines.lib.release.suppression import PUBLISHED, STATUS_SUFFIX, suppress
from pipelines.settings import DBT_PROJECT_DIR
from tests.release.attacker import KEY, attack, item_points, read_release, read_rules

RULES = read_rules(pd.read_csv(DBT_PROJECT_DIR / "seeds" / "kpi_score_rules.csv", dtype={"item_code": str}))
TABLES = {
    "kpi_transaction_volumes": ["received_total", "received_in_person", "received_online", "received_by_post",
                                "online_dossier_rate", "completed", "completed_fee_bearing", "completed_paid_online",
                                "amount_paid_online_vnd", "online_payment_rate"],
    "kpi_processed_records": ["received_total", "received_in_person", "received_online", "received_by_post",
                              "completed", "completed_on_time", "completed_late", "pending_within_deadline",
                              "pending_overdue", "on_time_numerator", "on_time_denominator", "on_time_rate"],
    "kpi_service_coverage": ["procedures_total", "procedures_online", "online_coverage_rate",
                             "procedures_eligible_full_process", "procedures_eligible_offered_full_process", "full_process_rate"],
    "kpi_scores": ["points_handling_progress", "points_online_service", "points_online_payment", "points_total",
                   "points_possible", "score_rate", "rank_in_level"],
}
STOCKS = ("pending_within_deadline", "pending_overdue", "procedures_total", "procedures_online",
          "procedures_eligible_full_process", "procedures_eligible_offered_full_process")
DAY, NEXT_DAY = date(2026, 11, 25), date(2026, 11, 26)


def counts(in_person, online, post, on_time=20, late=6, within=10, overdue=5, fee_bearing=12, paid_online=8,
           procedures=(338, 358), full=(89, 118)) -> dict:
    """One agency-period's dossier and catalogue counts (coverage 0.944, full process 0.754)."""
    return {"received_in_person": in_person, "received_online": online, "received_by_post": post,
            "completed_on_time": on_time, "completed_late": late, "pending_within_deadline": within,
            "pending_overdue": overdue, "completed_fee_bearing": fee_bearing, "completed_paid_online": paid_online,
            "procedures_online": procedures[0], "procedures_total": procedures[1],
            "procedures_eligible_offered_full_process": full[0], "procedures_eligible_full_process": full[1]}


def figures(c: dict) -> dict:
    """Totals, rates and 766 points from the counts, as the marts compute them."""
    f = dict(c, received_total=c["received_in_person"] + c["received_online"] + c["received_by_post"],
             completed=c["completed_on_time"] + c["completed_late"], amount_paid_online_vnd=c["completed_paid_online"] * 50000)
    f["on_time_numerator"] = f["completed_on_time"] + f["pending_within_deadline"]
    f["on_time_denominator"] = f["completed"] + f["pending_within_deadline"] + f["pending_overdue"]
    pairs = {"on_time_rate": ("on_time_numerator", "on_time_denominator"),
             "online_dossier_rate": ("received_online", "received_total"),
             "online_payment_rate": ("completed_paid_online", "completed_fee_bearing"),
             "online_coverage_rate": ("procedures_online", "procedures_total"),
             "full_process_rate": ("procedures_eligible_offered_full_process", "procedures_eligible_full_process")}
    for rate, (num, den) in pairs.items():
        f[rate] = f[num] / f[den] if f[den] else math.nan
    items = [(rule, item_points(f[rule.metric], rule)) for rule in RULES]
    earned = [(rule, p) for rule, p in items if not math.isnan(p)]
    for group in dict.fromkeys(rule.group for rule in RULES):
        points = [p for rule, p in earned if rule.group == group]
        f[f"points_{group}"] = sum(points) if points else math.nan
    f["points_total"] = sum(p for _, p in earned) if earned else math.nan
    f["points_possible"] = sum(rule.max_points for rule, _ in earned)
    f["score_rate"] = f["points_total"] / f["points_possible"] if f["points_possible"] else math.nan
    return f


def row(code: str, start: date, c: dict, period="day", geography="as_was") -> dict:
    level = "national" if code == "VN" else "province"
    return {"period": period, "period_start": start, "geography": geography, "agency_code": code,
            "agency_level": level, **figures(c)}


def summed(parts: list[dict], last: dict) -> dict:
    """The counts of a total row: flows summed, stocks those of `last` (a month's last day)."""
    return {k: last[k] if k in STOCKS else sum(p[k] for p in parts) for k in last}


def release(rows: list[dict], lineage=None, threshold=5) -> dict[str, pd.DataFrame]:
    """The four KPI tables of `rows`, ranked by score within level, suppressed as the release is."""
    wide = pd.DataFrame(rows)
    ranked = wide["agency_level"].isin(["ministry", "province"])
    wide["rank_in_level"] = (wide[ranked].groupby(["period", "period_start", "geography", "agency_level"])["score_rate"]
                             .rank(method="min", ascending=False))
    frames = {}
    for name, columns in TABLES.items():
        frame = wide[KEY + ["agency_level"] + columns].copy()
        for column in columns:
            whole = column.startswith(("received", "completed", "pending", "procedures", "on_time_n", "on_time_d", "rank"))
            frame[column] = frame[column].astype("Int64" if whole else "Float64")
        frames[name] = frame
    return suppress(frames, {name: KEY for name in frames}, threshold, lineage or {})


def h14() -> list[dict]:
    """The reviewer's case: 7 dossiers, 3 online, coverage 0.94413, full process 0.754237."""
    return [row("H14", DAY, counts(4, 3, 0))]


def national() -> list[dict]:
    """A national row summing two agencies, one with a small online count."""
    parts = [counts(4, 3, 0), counts(30, 40, 2)]
    return [row("H14", DAY, parts[0]), row("H15", DAY, parts[1]), row("VN", DAY, summed(parts, parts[1]))]


def month() -> list[dict]:
    """A month summing its days, one of them small."""
    days = [counts(20, 3, 1), counts(25, 30, 0)]
    month_row = row("H15", DAY.replace(day=1), summed(days, days[1]), period="month")
    return [row("H15", DAY, days[0]), row("H15", NEXT_DAY, days[1]), month_row]


def everything() -> tuple[list[dict], dict]:
    """Two days and their month, national rows, and "as is" rows where H16 was absorbed by H15."""
    by_day = {DAY: {"H14": counts(4, 3, 0), "H15": counts(20, 3, 1), "H16": counts(9, 2, 0, paid_online=2)},
              NEXT_DAY: {"H14": counts(30, 12, 1), "H15": counts(25, 30, 0), "H16": counts(3, 6, 0, fee_bearing=4)}}
    lineage = {"H16": "H15"}
    by_period = {("day", day): agencies for day, agencies in by_day.items()}
    by_period[("month", DAY.replace(day=1))] = {code: summed([by_day[d][code] for d in by_day], by_day[NEXT_DAY][code])
                                                for code in by_day[DAY]}
    rows = []
    for (period, start), agencies in by_period.items():
        merged = {}
        for code, c in agencies.items():
            merged.setdefault(lineage.get(code, code), []).append(c)
        as_is = {code: summed(parts, parts[0]) for code, parts in merged.items()}
        for geography, table in (("as_was", agencies), ("as_is", as_is)):
            rows += [row(code, start, c, period, geography) for code, c in table.items()]
            rows.append(row("VN", start, summed(list(table.values()), next(iter(table.values()))), period, geography))
    return rows, lineage


def recovered(frames, lineage=None) -> list[str]:
    return [str(r) for r in attack(frames, lineage or {}, RULES)]


@pytest.mark.parametrize("case", [h14, national, month])
def test_no_hidden_count_is_recovered_in_an_edge_case(case):
    frames = release(case())
    volumes = frames["kpi_transaction_volumes"].set_index("agency_code")
    assert (volumes["received_online_status"] == "suppressed_small").any()
    assert recovered(frames) == []


def test_no_hidden_count_is_recovered_over_days_months_nations_and_mergers():
    rows, lineage = everything()
    frames = release(rows, lineage)
    hidden = frames["kpi_transaction_volumes"].filter(like=STATUS_SUFFIX).apply(lambda s: s.str.startswith("suppressed"))
    assert hidden.to_numpy().sum() >= 10
    assert recovered(frames, lineage) == []


def test_points_hide_with_the_rate_they_are_computed_from():
    scores = release(h14())["kpi_scores"].iloc[0]
    for column in ("points_online_service", "points_total", "score_rate", "rank_in_level"):
        assert scores[column + STATUS_SUFFIX] == "suppressed_derived" and pd.isna(scores[column]), column
    # points_possible only tells which denominators are 0: H14's are all published.
    for column in ("points_handling_progress", "points_online_payment", "points_possible"):
        assert scores[column + STATUS_SUFFIX] == PUBLISHED, column


def test_points_possible_hides_with_a_denominator():
    scores = release([row("H14", DAY, counts(30, 10, 0, fee_bearing=3, paid_online=2))])["kpi_scores"].iloc[0]
    assert scores["points_possible" + STATUS_SUFFIX] == "suppressed_derived"
    assert scores["points_online_service" + STATUS_SUFFIX] == PUBLISHED


def republish(frames: dict, rows: list[dict], table: str, column: str, where) -> dict:
    """`frames` with the true `column` shown again on the rows where `where(row)` holds."""
    truth = pd.DataFrame(rows)
    frame = frames[table].copy()
    mask = frame.apply(where, axis=1)
    frame.loc[mask, column] = truth.loc[mask.to_numpy(), column].to_numpy()
    frame.loc[mask, column + STATUS_SUFFIX] = PUBLISHED
    return {**frames, table: frame}


def test_the_attacker_recovers_h14_when_its_points_are_shown():
    rows = h14()
    frames = republish(release(rows), rows, "kpi_scores", "points_online_service", lambda r: True)
    found = attack(frames, {}, RULES)
    online = [r for r in found if r.column == "received_online"]
    assert [(r.row[3], r.value) for r in online] == [("H14", 3)], found
    assert "item 3.3 points below max" in online[0].how


def test_the_attacker_recovers_a_small_cell_whose_companion_is_shown():
    rows = national()
    frames = release(rows)
    volumes = frames["kpi_transaction_volumes"]
    shown = volumes["agency_code"].eq("H15") & volumes["received_online_status"].eq("suppressed_secondary")
    assert shown.any()
    frames = republish(frames, rows, "kpi_transaction_volumes", "received_online", lambda r: r["agency_code"] == "H15")
    found = {(r.row[3], r.column): r.value for r in attack(frames, {}, RULES)}
    assert found[("H14", "received_online")] == 3


@pytest.fixture(scope="module")
def published_release(pipeline_run):
    return read_release(pipeline_run.open_dir / "latest", list(TABLES))


def test_no_hidden_count_is_recovered_from_the_published_release(published_release):
    frames, lineage, rules = published_release
    statuses = pd.concat([f.filter(like=STATUS_SUFFIX).stack() for f in frames.values()])
    assert statuses.str.startswith("suppressed").sum() > 0  # the small test run does have hidden cells
    assert [str(r) for r in attack(frames, lineage, rules)] == []


def test_no_hidden_count_is_recovered_from_all_the_sums_together(published_release):
    frames, lineage, rules = published_release
    assert [str(r) for r in attack(frames, lineage, rules, together=True)] == []


def sparse_month(seed: int = 2, agencies: int = 12, days: int = 31,
                 first: date = date(2025, 3, 1)) -> tuple[pd.DataFrame, dict[str, str]]:
    """A month of a dozen small agencies, merged two by two, most of whose day cells are under
    the threshold (as on a year at scale 0.01), with its months and national rows, as was and as is."""
    rng = np.random.default_rng(seed)
    codes = [f"A{n:02d}" for n in range(agencies)]
    lineage = {code: codes[n - n % 2] for n, code in enumerate(codes)}
    starts = [first + timedelta(d) for d in range(days)]
    parts = ("received_in_person", "received_online", "received_by_post")
    cube = rng.poisson([2.0, 3.0, 0.5], size=(agencies, days, 3))
    survivors = sorted(set(lineage.values()))
    merged = np.stack([cube[[n for n, c in enumerate(codes) if lineage[c] == s]].sum(axis=0) for s in survivors])
    rows = []
    for geography, names, table in (("as_was", codes, cube), ("as_is", survivors, merged)):
        for name, series in [*zip(names, table), ("VN", table.sum(axis=0))]:
            for period, start, counts_ in [*(("day", s, c) for s, c in zip(starts, series)),
                                           ("month", starts[0], series.sum(axis=0))]:
                rows.append({"period": period, "period_start": start, "geography": geography, "agency_code": name,
                             "received_total": int(counts_.sum()), **dict(zip(parts, map(int, counts_)))})
    frame = pd.DataFrame(rows).astype({c: "string" for c in ("period", "geography", "agency_code")})
    return frame.astype({c: "Int64" for c in ("received_total", *parts)}), lineage


def test_a_month_of_small_agencies_is_protected_by_few_companions():
    """Cells that only all the sums together pin are freed by a rectangle of companions: single
    companions freed nothing and cascaded here (897 secondary cells for 1,189 small ones), as
    on a year at scale 0.01, whose release then never finished."""
    frame, lineage = sparse_month()
    out = suppress({"kpi_transaction_volumes": frame}, {"kpi_transaction_volumes": KEY}, 5, lineage)
    status = out["kpi_transaction_volumes"].filter(like=STATUS_SUFFIX)
    small, secondary = ((status == kind).to_numpy().sum() for kind in ("suppressed_small", "suppressed_secondary"))
    assert small > 1000 and secondary <= 0.3 * small
    assert [str(r) for r in attack(out, lineage, RULES, together=True)] == []


def months(*spans: tuple[int, date, int]) -> tuple[pd.DataFrame, dict[str, str]]:
    """`sparse_month`s (seed, first day, days) one after another, the same agencies."""
    parts = [sparse_month(seed, days=days, first=first) for seed, first, days in spans]
    return pd.concat([frame for frame, _ in parts], ignore_index=True), parts[0][1]


def test_months_settle_apart_as_they_settle_together(monkeypatch):
    """No total crosses a month, so the suppression settles each month's rows alone
    (`_blocks`); it must hide exactly what settling every row at once hides."""
    frame, lineage = months((2, date(2025, 3, 1), 31), (3, date(2025, 4, 1), 30))
    apart = suppress({"kpi_transaction_volumes": frame}, {"kpi_transaction_volumes": KEY}, 5, lineage)
    blocks = suppression._blocks
    seen = []
    monkeypatch.setattr(suppression, "_blocks", lambda size, relations: seen.append(blocks(size, relations)) or [np.arange(size)])
    together = suppress({"kpi_transaction_volumes": frame}, {"kpi_transaction_volumes": KEY}, 5, lineage)
    assert [len(rows) for rows in seen[0]] == [640, 620]
    pd.testing.assert_frame_equal(apart["kpi_transaction_volumes"], together["kpi_transaction_volumes"])
    assert (apart["kpi_transaction_volumes"].filter(like=STATUS_SUFFIX) == "suppressed_secondary").to_numpy().sum() > 100


def test_a_month_unchanged_since_the_last_release_is_answered_from_the_memo(tmp_path, monkeypatch):
    """A day's release after a year solves the month that changed; the others come from the
    memo file the release before left (a new process: nothing remembered in memory)."""
    memo_file = tmp_path / "memo.parquet"
    march, lineage = months((4, date(2025, 3, 1), 31))
    suppress({"kpi_transaction_volumes": march}, {"kpi_transaction_volumes": KEY}, 5, lineage, memo_file)
    monkeypatch.setattr(memo, "_answers", {})
    monkeypatch.setattr(memo, "_asked", {})
    solved = []
    settle = suppression._companions_together
    monkeypatch.setattr(suppression, "_companions_together", lambda matrix, relations, columns, values, hidden:
                        solved.append(len(values)) or settle(matrix, relations, columns, values, hidden))
    both, _ = months((4, date(2025, 3, 1), 31), (5, date(2025, 4, 1), 20))
    out = suppress({"kpi_transaction_volumes": both}, {"kpi_transaction_volumes": KEY}, 5, lineage, memo_file)
    assert solved and set(solved) == {20 * 21}  # April's rows only
    again = suppress({"kpi_transaction_volumes": march}, {"kpi_transaction_volumes": KEY}, 5, lineage)
    pd.testing.assert_frame_equal(out["kpi_transaction_volumes"].iloc[:len(march)], again["kpi_transaction_volumes"])

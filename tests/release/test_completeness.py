"""Rows whose stocks rest on a short history: which columns lean on the stock, and how they are
blanked beside the privacy suppression (pure functions, hand-made rows)."""

from __future__ import annotations

from datetime import date

import pandas as pd

from pipelines.lib.release.completeness import flag_incomplete_history, leans_on_stocks
from pipelines.lib.release.suppression import INCOMPLETE, NOT_APPLICABLE, PUBLISHED, SMALL, suppress

KEY = ["period", "period_start", "geography", "agency_code"]
PROCESSED = ["received_total", "carried_over", "completed", "completed_on_time", "completed_late",
             "pending_within_deadline", "pending_overdue", "on_time_numerator", "on_time_denominator",
             "on_time_rate", "handling_working_days_total", "mean_handling_working_days"]
SCORES = ["points_handling_progress", "points_online_service", "points_online_payment", "points_total",
          "points_possible", "score_rate", "rank_in_level"]


def test_what_leans_on_the_stock():
    assert {c for c in PROCESSED + SCORES if leans_on_stocks(c)} == {
        "carried_over", "pending_within_deadline", "pending_overdue", "on_time_numerator", "on_time_denominator",
        "on_time_rate", "points_handling_progress", "points_total", "points_possible", "score_rate", "rank_in_level",
    }


def row(code: str, complete: bool, pending_overdue: int, denominator: int) -> dict:
    return {"period": "day", "period_start": date(2025, 3, 3), "geography": "as_was", "agency_code": code,
            "stocks_complete": complete, "received_total": 40, "carried_over": 30, "completed": 10,
            "completed_on_time": 8, "completed_late": 2, "pending_within_deadline": 30,
            "pending_overdue": pending_overdue, "on_time_numerator": 38, "on_time_denominator": denominator,
            "on_time_rate": 38 / denominator if denominator else None}


def test_a_short_history_blanks_the_stocks_and_keeps_privacy_statuses():
    idle = {**row("C", False, 0, 0), "carried_over": 0, "completed": 0, "completed_on_time": 0,
            "completed_late": 0, "pending_within_deadline": 0, "on_time_numerator": 0}
    frame = pd.DataFrame([row("A", True, 2, 42), row("B", False, 2, 42), idle])
    frame[[c for c in frame.columns if c not in KEY + ["stocks_complete", "on_time_rate"]]] = \
        frame[[c for c in frame.columns if c not in KEY + ["stocks_complete", "on_time_rate"]]].astype("Int64")
    frame["on_time_rate"] = frame["on_time_rate"].astype("Float64")
    # C has nothing open nor completed (no rate): not applicable becomes incomplete too, since
    # with a complete history its stock might not be empty.
    protected = suppress({"t": frame}, {"t": KEY}, 5)["t"]
    result = flag_incomplete_history(protected).set_index("agency_code")
    assert result.loc["A", "pending_overdue_status"] == SMALL  # privacy, on a complete row
    assert result.loc["B", "pending_overdue_status"] == SMALL  # privacy wins over history
    assert result.loc["B", "carried_over_status"] == INCOMPLETE and pd.isna(result.loc["B", "carried_over"])
    assert result.loc["C", "on_time_rate_status"] == INCOMPLETE
    assert result.loc["A", "carried_over_status"] == PUBLISHED and result.loc["A", "carried_over"] == 30
    for code in "ABC":
        assert result.loc[code, "received_total_status"] == PUBLISHED and result.loc[code, "received_total"] == 40
    assert protected.loc[protected["agency_code"] == "C", "on_time_rate_status"].item() == NOT_APPLICABLE


def test_a_rank_gets_a_status_column_when_it_has_none():
    frame = pd.DataFrame({"agency_code": ["A", "B"], "stocks_complete": [True, False],
                          "score_rate": [0.9, 0.8], "rank_in_level": pd.array([1, 2], dtype="Int64")})
    result = flag_incomplete_history(frame)
    assert list(result.columns) == ["agency_code", "stocks_complete", "score_rate", "score_rate_status",
                                    "rank_in_level", "rank_in_level_status"]
    assert list(result["rank_in_level_status"]) == [PUBLISHED, INCOMPLETE]
    assert result["rank_in_level"].isna().tolist() == [False, True]

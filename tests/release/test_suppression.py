"""Small cells: primary suppression, companions within a row and across totals, derived cells,
on hand-made tables (pure function) and on the published release."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from scipy.sparse import block_diag, csr_matrix

from pipelines.lib.release.suppression import DENSE_UNKNOWNS, EQUATIONS, _fixed, _fixed_dense, _pinned, suppress

KEY = ["period", "period_start", "geography", "agency_code"]


def frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    for column in df.columns:
        if column in KEY or column == "agency_level":
            df[column] = df[column].astype("string") if column != "period_start" else df[column]
        elif column.endswith("_rate"):
            df[column] = df[column].astype("Float64")
        else:
            df[column] = df[column].astype("Int64")
    return df


def volumes(code: str, in_person: int, online: int, post: int, **extra) -> dict:
    total = in_person + online + post
    return {"period": "day", "period_start": date(2025, 3, 3), "geography": "as_was", "agency_code": code,
            "received_total": total, "received_in_person": in_person, "received_online": online, "received_by_post": post,
            "online_dossier_rate": online / total if total else None, **extra}


def run(rows, threshold=5, **kwargs):
    return suppress({"kpi_transaction_volumes": frame(rows)}, {"kpi_transaction_volumes": KEY}, threshold, **kwargs)["kpi_transaction_volumes"]


def test_small_counts_are_blanked_zero_and_threshold_are_not():
    out = run([volumes("A", 20, 4, 0), volumes("B", 30, 5, 5)]).set_index("agency_code")
    assert pd.isna(out.loc["A", "received_online"]) and out.loc["A", "received_online_status"] == "suppressed_small"
    assert out.loc["A", "received_by_post"] == 0 and out.loc["A", "received_by_post_status"] == "published"
    assert out.loc["B", "received_online"] == 5 and out.loc["B", "received_by_post_status"] == "published"


def test_one_hidden_channel_takes_another_with_it():
    out = run([volumes("A", 20, 4, 0), volumes("B", 30, 5, 5)]).set_index("agency_code")
    # received_total (24) and in_person (20) would give online = 4 away: the smallest non-zero
    # visible part, in person, is hidden too (post is 0 and would protect nothing).
    assert out.loc["A", "received_in_person_status"] == "suppressed_secondary"
    assert out.loc["A", "received_total"] == 24


def test_rates_and_amounts_follow_their_basis():
    rows = [volumes("A", 20, 4, 0, completed_paid_online=3, amount_paid_online_vnd=150000),
            volumes("B", 30, 10, 5, completed_paid_online=8, amount_paid_online_vnd=400000)]
    out = run(rows).set_index("agency_code")
    assert out.loc["A", "online_dossier_rate_status"] == "suppressed_derived" and pd.isna(out.loc["A", "online_dossier_rate"])
    assert out.loc["A", "amount_paid_online_vnd_status"] == "suppressed_derived"
    assert out.loc["B", "online_dossier_rate"] == pytest.approx(10 / 45) and out.loc["B", "amount_paid_online_vnd"] == 400000


def test_rate_without_denominator_is_not_applicable():
    out = run([volumes("A", 0, 0, 0)]).set_index("agency_code")
    assert out.loc["A", "online_dossier_rate_status"] == "not_applicable"
    assert out.loc["A", "received_total_status"] == "published"


def test_the_national_total_does_not_give_one_agency_away():
    rows = [volumes("A", 20, 3, 0), volumes("B", 30, 10, 0), volumes("C", 40, 12, 0)]
    national = volumes("VN", 90, 25, 0)
    national["agency_level"] = "national"
    out = run(rows + [national]).set_index("agency_code")
    online = out["received_online_status"]
    # A's 3 is hidden; VN = A + B + C would reveal it, so the smallest other part, B's 10, goes too.
    assert online["A"] == "suppressed_small" and online["B"] == "suppressed_secondary"
    assert online["C"] == "published" and online["VN"] == "published"


# x0 + x1, x0 + x2, x1 + x2 known: each sum leaves two unknowns, together they fix all three.
TRIANGLE = [[1, 1, 0], [1, 0, 1], [0, 1, 1]]
# The four cells of a 2×2 block with its row and column sums: a direction (+1 −1 −1 +1) moves all.
SQUARE = [[1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 1, 0], [0, 1, 0, 1]]


def triplets(matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows, columns = np.nonzero(np.asarray(matrix))
    return rows, columns, np.asarray(matrix, dtype=float)[rows, columns]


def test_cells_that_only_all_the_sums_together_fix_are_found():
    equations, unknowns, coefficients = triplets(block_diag([TRIANGLE, SQUARE]).toarray())
    assert _pinned(equations, unknowns, coefficients, 7).tolist() == [True] * 3 + [False] * 4


def test_large_components_are_solved_as_exactly_as_small_ones():
    matrix = csr_matrix(block_diag([TRIANGLE, SQUARE] * (DENSE_UNKNOWNS // 7 + 1)))
    assert matrix.shape[1] > DENSE_UNKNOWNS
    assert (_fixed(matrix) == _fixed_dense(matrix)).all() and _fixed(matrix).sum() == 3 * (DENSE_UNKNOWNS // 7 + 1)


def test_threshold_zero_publishes_everything():
    out = run([volumes("A", 20, 4, 1)], threshold=0)
    assert (out.filter(like="_status") == "published").all().all()


def test_tables_sharing_a_key_hide_the_same_figure_in_both():
    processed = frame([{**volumes("A", 20, 4, 0), "completed": 12, "completed_on_time": 10, "completed_late": 2}])
    processed = processed.drop(columns=["online_dossier_rate"])
    tv = frame([volumes("A", 20, 4, 0)])
    out = suppress({"kpi_processed_records": processed, "kpi_transaction_volumes": tv},
                   {"kpi_processed_records": KEY, "kpi_transaction_volumes": KEY}, 5)
    for table in out.values():
        assert table.loc[0, "received_online_status"] == "suppressed_small"
        assert table.loc[0, "received_in_person_status"] == "suppressed_secondary"
    assert out["kpi_processed_records"].loc[0, "completed_on_time_status"] == "suppressed_secondary"


@pytest.fixture(scope="module")
def published(pipeline_run):
    latest = pipeline_run.open_dir / "latest"
    return {name: pd.read_csv(latest / f"{name}.csv", dtype={"agency_code": str})
            for name in ("kpi_processed_records", "kpi_transaction_volumes", "kpi_service_coverage", "kpi_scores")}


def test_no_published_count_below_the_threshold(published):
    checked = 0
    for table in published.values():
        for status in [c for c in table.columns if c.endswith("_status")]:
            column = status.removesuffix("_status")
            shown = table.loc[table[status] == "published", column]
            if column.endswith("_rate") or column.startswith(("points_", "score", "mean_", "rank")):
                continue
            assert not shown.between(1, 4).any(), column
            assert table.loc[table[status].str.startswith("suppressed"), column].isna().all(), column
            checked += int(table[status].str.startswith("suppressed").sum())
    assert checked > 0  # the small test run does have small cells


def test_no_hidden_cell_is_given_away_by_a_row_identity(published):
    processed = published["kpi_processed_records"]
    for total, parts in EQUATIONS:
        hidden = np.column_stack([processed[c + "_status"].str.startswith("suppressed") for c in (total, *parts)])
        assert not (hidden.sum(axis=1) == 1).any(), f"{total} = {' + '.join(parts)}"


def test_no_national_total_gives_one_agency_away(published):
    volumes_ = published["kpi_transaction_volumes"]
    for column in ("received_total", "received_online", "completed", "completed_paid_online"):
        hidden = volumes_[column + "_status"].str.startswith("suppressed")
        per_group = hidden.groupby([volumes_["period"], volumes_["period_start"], volumes_["geography"]]).sum()
        assert not (per_group == 1).any(), column


def test_no_month_gives_one_of_its_days_away(published):
    volumes_ = published["kpi_transaction_volumes"]
    month = pd.to_datetime(volumes_["period_start"]).dt.strftime("%Y-%m")
    for column in ("received_total", "received_online", "completed", "completed_paid_online"):
        hidden = volumes_[column + "_status"].str.startswith("suppressed")
        per_group = hidden.groupby([volumes_["geography"], volumes_["agency_code"], month]).sum()
        assert not (per_group == 1).any(), column

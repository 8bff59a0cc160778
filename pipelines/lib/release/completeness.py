"""Stock figures from a short history are never published as if complete.

A KPI row whose `stocks_complete` is false (the pipeline does not hold every day of the
look-back before each of its days: docs/kpis.md, "Is a figure complete?") has every figure that
leans on the open stock blanked, with status `incomplete_history`: the stocks, the sums they are
part of, and what is computed from those, down to points, score and rank. A cell already
suppressed for privacy keeps that status.
"""

from __future__ import annotations

import pandas as pd

from pipelines.lib.release.suppression import (
    BASIS, EQUATIONS, INCOMPLETE, NOT_APPLICABLE, PUBLISHED, STATUS_SUFFIX,
)

FLAG = "stocks_complete"
STOCKS = ("carried_over", "pending_within_deadline", "pending_overdue")


def leans_on_stocks(column: str) -> bool:
    """Whether a column is a stock, a total with a stock among its parts, or computed from one
    (whatever table it is in: kpi_scores has the rates' points, not their numerators)."""
    if column in STOCKS:
        return True
    parts = [p for total, ps in EQUATIONS if total == column for p in ps]
    parts += list(BASIS.get(column, ()))
    if column.endswith("_rate") and column not in BASIS:
        stem = column.removesuffix("_rate")
        parts += [f"{stem}_numerator", f"{stem}_denominator"]
    return any(leans_on_stocks(p) for p in parts)


def flag_incomplete_history(frame: pd.DataFrame) -> pd.DataFrame:
    """Blank the stock-derived cells of the rows whose stocks are not complete."""
    if FLAG not in frame:
        return frame
    short = ~frame[FLAG].astype(bool).to_numpy()
    result = frame.copy()
    ordered = []
    for column in frame.columns:
        ordered.append(column)
        if column.endswith(STATUS_SUFFIX) or not leans_on_stocks(column):
            continue
        status_column = column + STATUS_SUFFIX
        status = (frame[status_column] if status_column in frame
                  else pd.Series(PUBLISHED, index=frame.index).mask(frame[column].isna(), NOT_APPLICABLE))
        status = status.mask(short & status.isin([PUBLISHED, NOT_APPLICABLE]).to_numpy(), INCOMPLETE)
        result[column] = frame[column].mask((status != PUBLISHED).to_numpy())
        result[status_column] = status.astype("string")
        if status_column not in frame:
            ordered.append(status_column)
    return result[ordered]

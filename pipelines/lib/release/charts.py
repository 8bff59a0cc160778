"""The catalogue page's chart data (`charts.json`): small, pre-aggregated, bounded in size.

The page used to load every KPI table's full JSON to draw its charts, so it grew with every day
of history. It now reads this file: for each rate of each KPI table, the national figure per day
for the last DAYS days and per month for every month, plus the latest month per agency level.
A year of history adds twelve monthly points, nothing else.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from pipelines.lib.release.suppression import STATUS_SUFFIX

DAYS = 90
NATIONAL = "VN"
GEOGRAPHY = "as_is"  # today's agencies: the merged provinces' history counted in their successor


def rate_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.endswith("_rate") and pd.api.types.is_float_dtype(frame[c])]


def _points(rows: pd.DataFrame, column: str) -> list[list]:
    """[[period_start, value or None, status], ...] in date order."""
    status = rows[column + STATUS_SUFFIX] if column + STATUS_SUFFIX in rows else pd.Series("published", index=rows.index)
    return [
        [start.isoformat(), None if pd.isna(value) else round(float(value), 4), str(state)]
        for start, value, state in sorted(zip(rows["period_start"], rows[column], status), key=lambda item: item[0])
    ]


def table_charts(frame: pd.DataFrame) -> dict:
    """The series of one KPI table: {rate column: {"daily": [...], "monthly": [...], "levels": {...}}}."""
    if not {"period", "period_start", "geography", "agency_code"} <= set(frame.columns):
        return {}
    national = frame[(frame["agency_code"] == NATIONAL) & (frame["geography"] == GEOGRAPHY)]
    days = national[national["period"] == "day"]
    if not days.empty:
        days = days[days["period_start"] > max(days["period_start"]) - timedelta(days=DAYS)]
    months = national[national["period"] == "month"]
    agencies = frame[(frame["agency_code"] != NATIONAL) & (frame["geography"] == GEOGRAPHY) & (frame["period"] == "month")]
    result = {}
    for column in rate_columns(frame):
        levels = {}
        if not agencies.empty and "agency_level" in agencies:
            latest = agencies[agencies["period_start"] == max(agencies["period_start"])]
            for level, rows in latest.groupby("agency_level"):
                published = rows[column].dropna()
                levels[str(level)] = {
                    "month": max(agencies["period_start"]).isoformat(),
                    "agencies": int(len(rows)),
                    "published": int(len(published)),
                    "median": None if published.empty else round(float(published.median()), 4),
                    "min": None if published.empty else round(float(published.min()), 4),
                    "max": None if published.empty else round(float(published.max()), 4),
                }
        result[column] = {"daily": _points(days, column), "monthly": _points(months, column), "levels": levels}
    return result


def build_charts(kpis: dict[str, pd.DataFrame]) -> dict:
    """The content of charts.json: {"days": DAYS, "tables": {table: {rate: series}}}."""
    return {"days": DAYS, "national": NATIONAL, "geography": GEOGRAPHY,
            "tables": {name: charts for name, frame in sorted(kpis.items()) if (charts := table_charts(frame))}}

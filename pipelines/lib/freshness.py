"""Freshness for KPI owners: up to which day each agency sent data, who is late and since when,
and how current each published KPI table is.

Everything comes from the data directory (the landed and validated agency-day manifests, the
agency registry with its validity dates, the published tables), never from the warehouse
file, so the report can run while dbt writes. Landed files carry no load timestamps (reruns
are byte-identical), so the data's own `day` is its as-of.

An agency is due to have sent the next working day after the last day it sent anything; it is
late once that day has ended and `agency_late_after` has passed. Weekends and public holidays
are not counted against it: offices do not handle dossiers then.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable, Mapping

import duckdb
import pyarrow.parquet as pq

from pipelines.lib import paths
from pipelines.lib.landing import partition_files, read_parquet
from pipelines.lib.manifests import manifest_rows
from pipelines.lib.reference import agency_valid_on
from pipelines.settings import REPO_ROOT, TIMEZONE, TIMEZONE_NAME, open_data_dir

HOLIDAYS_CSV = REPO_ROOT / "reference" / "vn_public_holidays.csv"
DEFAULT_LATE_AFTER_HOURS = 36.0
# The column that dates a KPI row, in order of preference (daily tables first, then periods).
AS_OF_COLUMNS = ("day", "period_end", "month_end", "period_start", "month")


@dataclass(frozen=True)
class Thresholds:
    """How long after a day has ended its data may still be missing before it is late."""

    agency_late_after: timedelta = timedelta(hours=DEFAULT_LATE_AFTER_HOURS)
    kpi_late_after: timedelta = timedelta(hours=DEFAULT_LATE_AFTER_HOURS)

    @classmethod
    def from_env(cls) -> "Thresholds":
        """`EGOV_AGENCY_LATE_AFTER_HOURS` and `EGOV_KPI_LATE_AFTER_HOURS`, 36 hours each by default."""
        def hours(name: str) -> timedelta:
            return timedelta(hours=float(os.environ.get(name) or DEFAULT_LATE_AFTER_HOURS))

        return cls(hours("EGOV_AGENCY_LATE_AFTER_HOURS"), hours("EGOV_KPI_LATE_AFTER_HOURS"))


@dataclass(frozen=True)
class AgencyDay:
    """One landed agency-day: its source total, and whether it passed its blocking checks."""

    agency_code: str
    day: date
    source_total: int
    validated: bool


@dataclass(frozen=True)
class KpiTable:
    name: str
    data_as_of: date | None
    last_updated: datetime | None


def public_holidays(path: Path = HOLIDAYS_CSV) -> frozenset[date]:
    with open(path, encoding="utf-8") as fh:
        return frozenset(date.fromisoformat(row["date"]) for row in csv.DictReader(fh))


def is_working_day(day: date, holidays: frozenset[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def first_working_day(day: date, holidays: frozenset[date]) -> date:
    """`day` itself if it is a working day, else the next one."""
    while not is_working_day(day, holidays):
        day += timedelta(days=1)
    return day


def end_of_day(day: date) -> datetime:
    """Midnight after `day`, Asia/Ho_Chi_Minh: when the day's data can be complete."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=TIMEZONE)


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def agency_freshness(
    agency: Mapping, days: list[AgencyDay], window: tuple[date, date], now: datetime,
    late_after: timedelta, holidays: frozenset[date],
) -> dict:
    """One agency's row of the report; `days` are its landed agency-days, `window` the days the
    pipeline covers (first landed day of any agency, last complete day)."""
    first, last = window
    valid_to = agency["valid_to"]
    start = max(first, agency["valid_from"] or first)
    end = min(last, valid_to or last)
    received = [d.day for d in days if d.source_total > 0]
    last_received = max(received, default=None)
    validated = {d.day for d in days if d.validated}
    landed = {d.day for d in days}
    expected = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    silent_from = last_received + timedelta(days=1) if last_received else start
    # Due: the first working day without data; late once it has ended and `late_after` passed.
    due_day = first_working_day(silent_from, holidays)
    late_since = end_of_day(due_day) + late_after
    retired = valid_to is not None and due_day > valid_to
    if retired or now < late_since:
        status, late_since = "on_time", None
    else:
        status = "late" if last_received else "missing"
    missing = [d for d in expected if d not in landed]
    blocked = sorted(landed - validated)
    return {
        "agency_code": agency["agency_code"],
        "name_vi": agency.get("name_vi"),
        "name_en": agency.get("name_en"),
        "status": status,
        "last_day_received": _iso(last_received),
        "last_day_validated": _iso(max(validated, default=None)),
        "lag_days": (end - last_received).days if last_received else None,
        "no_data_since": _iso(silent_from) if silent_from <= end else None,
        "late_since": _iso(late_since),
        "complete": not missing and not blocked,
        "missing_days": [d.isoformat() for d in missing],
        "blocked_days": [d.isoformat() for d in blocked],
        "valid_to": _iso(valid_to),
    }


def kpi_table_freshness(table: KpiTable, now: datetime, late_after: timedelta, last_validated: date | None) -> dict:
    """A KPI table's row; a period that is still open (this month) is as of the last validated day."""
    as_of = table.data_as_of
    if as_of is not None and last_validated is not None:
        as_of = min(as_of, last_validated)
    if table.last_updated is None:
        status, late_since = "missing", None
    else:
        late_since = table.last_updated + late_after
        status = "late" if now >= late_since else "fresh"
    return {
        "table": table.name,
        "status": status,
        "last_updated": _iso(table.last_updated),
        "data_as_of": _iso(as_of),
        "late_since": _iso(late_since) if status == "late" else None,
    }


def complete_through(agencies: list[Mapping], days: list[AgencyDay], window: tuple[date, date]) -> date | None:
    """The latest day on which every agency valid that day has a validated partition."""
    validated = {(d.agency_code, d.day) for d in days if d.validated}
    day = window[1]
    while day >= window[0]:
        expected = [a["agency_code"] for a in agencies if agency_valid_on(a, day)]
        if expected and all((code, day) in validated for code in expected):
            return day
        day -= timedelta(days=1)
    return None


def build_report(
    agencies: list[Mapping], days: list[AgencyDay], tables: list[KpiTable], now: datetime,
    thresholds: Thresholds, holidays: frozenset[date],
) -> dict:
    """The freshness report (see `freshness_report`) from what the data directory holds."""
    last = now.astimezone(TIMEZONE).date() - timedelta(days=1)
    first = min((d.day for d in days), default=last)
    window = (first, last)
    by_agency: dict[str, list[AgencyDay]] = {}
    for d in days:
        by_agency.setdefault(d.agency_code, []).append(d)
    # Agencies that existed at some point of the window; later ones are not due yet.
    current = [a for a in agencies if (a["valid_to"] is None or a["valid_to"] >= first)
               and (a["valid_from"] is None or a["valid_from"] <= last)]
    rows = [
        agency_freshness(a, by_agency.get(a["agency_code"], []), window, now, thresholds.agency_late_after, holidays)
        for a in sorted(current, key=lambda a: a["agency_code"])
    ]
    last_validated = max((d.day for d in days if d.validated), default=None)
    kpis = [kpi_table_freshness(t, now, thresholds.kpi_late_after, last_validated)
            for t in sorted(tables, key=lambda t: t.name)]
    return {
        "generated_at": now.astimezone(TIMEZONE).isoformat(timespec="seconds"),
        "timezone": TIMEZONE_NAME,
        "thresholds_hours": {
            "agency_late_after": thresholds.agency_late_after.total_seconds() / 3600,
            "kpi_late_after": thresholds.kpi_late_after.total_seconds() / 3600,
        },
        "window": {"first_day": first.isoformat(), "last_complete_day": last.isoformat()},
        "complete_through": _iso(complete_through(current, days, window)),
        "summary": {
            "agencies": len(rows),
            "on_time": sum(r["status"] == "on_time" for r in rows),
            "late": [r["agency_code"] for r in rows if r["status"] == "late"],
            "missing": [r["agency_code"] for r in rows if r["status"] == "missing"],
            "incomplete": [r["agency_code"] for r in rows if not r["complete"]],
            "kpi_tables_late": [k["table"] for k in kpis if k["status"] != "fresh"],
        },
        "agencies": rows,
        "kpi_tables": kpis,
    }


def _validated_keys(root: Path) -> set[tuple[str, date]]:
    """The agency-days with a validated manifest. Its presence is the fact, so none is read: a
    year holds some 30,000 of them, and reading them was most of the report's time."""
    return {(agency, date.fromisoformat(day)) for _, agency, day, _ in partition_files(root, paths.PARTITION_FILE)}


def landed_agency_days() -> list[AgencyDay]:
    """Every landed agency-day (its manifest sits beside the landed file) and whether it is validated."""
    validated = _validated_keys(paths.validated_partitions_root())
    return [
        AgencyDay(code, day, total, (code, day) in validated)
        for code, day, total in manifest_rows(paths.raw_dossiers_root(), paths.PARTITION_FILE)
    ]


def published_tables(latest: Path, updated_at: Callable[[str], datetime | None] | None = None) -> list[KpiTable]:
    """The published KPI tables in `latest`: the newest day they cover, and when each was last
    built (`updated_at`, e.g. from the Dagster instance; else when its file was written)."""
    tables = []
    for path in sorted(latest.glob("kpi_*.parquet")):
        name = path.stem
        columns = set(pq.read_schema(path).names)
        as_of_column = next((c for c in AS_OF_COLUMNS if c in columns), None)
        as_of = None
        if as_of_column:
            with duckdb.connect() as con:
                value = con.execute(f"select max({as_of_column}) from read_parquet('{path}')").fetchone()[0]
            as_of = value.date() if isinstance(value, datetime) else value
        updated = (updated_at and updated_at(name)) or datetime.fromtimestamp(path.stat().st_mtime, TIMEZONE)
        tables.append(KpiTable(name, as_of, updated))
    return tables


def read_agencies() -> list[dict]:
    file = paths.agencies_file()
    return read_parquet(file).to_pylist() if file.exists() else []


def freshness_report(
    now: datetime | None = None, *, thresholds: Thresholds | None = None,
    kpi_updated_at: Callable[[str], datetime | None] | None = None, latest: Path | None = None,
) -> dict:
    """The freshness report of the data directory (EGOV_DATA_DIR) at `now`, as a JSON-ready dict:

    generated_at, timezone, thresholds_hours {agency_late_after, kpi_late_after},
    window {first_day, last_complete_day}, complete_through (latest day every agency is in),
    summary {agencies, on_time, late [codes], missing [codes], incomplete [codes], kpi_tables_late},
    agencies [{agency_code, name_vi, name_en, status on_time|late|missing, last_day_received,
    last_day_validated, lag_days, no_data_since, late_since, complete, missing_days,
    blocked_days, valid_to}], kpi_tables [{table, status fresh|late|missing, last_updated,
    data_as_of, late_since}]. Dates are ISO 8601; times carry their +07:00 offset.
    """
    now = now or datetime.now(TIMEZONE)
    return build_report(
        read_agencies(),
        landed_agency_days(),
        published_tables(latest or open_data_dir() / "latest", kpi_updated_at),
        now,
        thresholds or Thresholds.from_env(),
        public_holidays(),
    )


def _cell(value) -> str:
    return "-" if value is None else str(value)


def format_report(report: dict) -> str:
    """The report as plain-text tables: attention first (late, missing, incomplete), then every agency."""
    s = report["summary"]
    lines = [
        f"Freshness at {report['generated_at']} ({report['timezone']}); days "
        f"{report['window']['first_day']} … {report['window']['last_complete_day']}; "
        f"KPIs complete through {_cell(report['complete_through'])}.",
        f"Agencies: {s['agencies']}, on time {s['on_time']}, late {len(s['late'])}, missing {len(s['missing'])}, "
        f"with gaps {len(s['incomplete'])}.  Late after {report['thresholds_hours']['agency_late_after']:g} h "
        f"past the next working day.",
        "",
        f"{'agency':<16} {'status':<8} {'last received':<13} {'lag (d)':>7}  {'no data since':<13} "
        f"{'late since':<25} {'gaps':>4}  name",
    ]
    order = {"missing": 0, "late": 1, "on_time": 2}
    for row in sorted(report["agencies"], key=lambda r: (order[r["status"]], r["complete"], r["agency_code"])):
        gaps = len(row["missing_days"]) + len(row["blocked_days"])
        lines.append(
            f"{row['agency_code']:<16} {row['status']:<8} {_cell(row['last_day_received']):<13} "
            f"{_cell(row['lag_days']):>7}  {_cell(row['no_data_since']):<13} {_cell(row['late_since']):<25} "
            f"{gaps:>4}  {row['name_en'] or row['name_vi'] or ''}"
        )
    lines += ["", f"{'KPI table':<28} {'status':<8} {'last updated':<25} {'data as of':<10}"]
    for table in report["kpi_tables"]:
        lines.append(
            f"{table['table']:<28} {table['status']:<8} {_cell(table['last_updated']):<25} {_cell(table['data_as_of']):<10}"
        )
    if not report["kpi_tables"]:
        lines.append("(no KPI tables published yet)")
    return "\n".join(lines)

"""Run the whole graph for a range of days on a Dagster instance: what `make run` does.

The registry first (it registers agency partitions), then one run per agency-day for the
sources and their checks, then one run of the dbt models and the export. A failed agency-day
does not stop the others: it is reported by name, and its KPIs are not published.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Callable, TextIO

import dagster as dg
import pyarrow.parquet as pq
from tqdm import tqdm

from pipelines.defs.partitions import agency_day_key
from pipelines.lib import paths
from pipelines.lib.reference import agency_reports_on
from pipelines.settings import TIMEZONE


@dataclass
class RunReport:
    days: list[date]
    partitions: int = 0
    failed: list[str] = field(default_factory=list)
    kpi_ok: bool = False


def last_complete_days(count: int, today: date | None = None) -> list[date]:
    """The `count` days before today (Asia/Ho_Chi_Minh), oldest first."""
    today = today or datetime.now(TIMEZONE).date()
    return [today - timedelta(days=n) for n in range(count, 0, -1)]


def agencies_reporting_on(day: date) -> list[str]:
    """The agencies to pull for a day: those valid then, and those in their tail after ceasing."""
    agencies = pq.read_table(paths.agencies_file()).to_pylist()
    return [a["agency_code"] for a in agencies if agency_reports_on(a, day)]


def console_log_level(level: str | None) -> dict | None:
    """Run config that sets the console logger's level (None: Dagster's default, DEBUG)."""
    return None if level is None else {"loggers": {"console": {"config": {"log_level": level}}}}


def ingest_partition(
    defs: dg.Definitions, instance: dg.DagsterInstance, code: str, day: date, log_level: str | None = None
) -> bool:
    """One `ingest_job` run for an agency-day; False when it failed or a blocking check stopped it."""
    result = defs.resolve_job_def("ingest_job").execute_in_process(
        instance=instance, partition_key=agency_day_key(code, day), raise_on_error=False,
        run_config=console_log_level(log_level),
    )
    blocked = any(
        e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.event_specific_data.passed
        and e.event_specific_data.severity == dg.AssetCheckSeverity.ERROR
        for e in result.all_events
    )
    return result.success and not blocked


_worker_instance: dg.DagsterInstance | None = None


def _open_worker_instance() -> None:
    """In a worker process, once: the persistent instance its runs are recorded in."""
    global _worker_instance
    _worker_instance = dg.DagsterInstance.get()


def _worker_ingest(code: str, day: date, log_level: str | None) -> bool:
    """In a worker process: the code location is loaded once (module cache), then one agency-day."""
    from pipelines.definitions import defs

    return ingest_partition(defs, _worker_instance, code, day, log_level)


def register_agencies(defs: dg.Definitions, instance: dg.DagsterInstance, log_level: str | None = None) -> bool:
    """The agency registry first: it lands agencies.parquet and registers the agency partitions."""
    return defs.resolve_job_def("registry_job").execute_in_process(
        instance=instance, raise_on_error=False, run_config=console_log_level(log_level)
    ).success


def agency_days(days: list[date], agencies: list[str] | None = None) -> list[tuple[str, date]]:
    """Every (agency, day) to ingest: agencies reporting that day, optionally only the given ones."""
    return [(code, day) for day in days for code in agencies_reporting_on(day) if agencies is None or code in agencies]


def ingest(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    partitions: list[tuple[str, date]],
    *,
    workers: int = 1,
    on_done: Callable[[str, date, bool], None] | None = None,
    log_level: str | None = None,
) -> list[str]:
    """Every agency-day, in `workers` processes on a persistent instance; returns those that failed.

    `on_done(code, day, ok)` is called as each agency-day finishes (e.g. to move a progress bar);
    `log_level` quiets the runs' console output (e.g. "WARNING" under a progress bar).
    """
    done = on_done or (lambda code, day, ok: None)
    outcomes: dict[tuple[str, date], bool] = {}
    if workers <= 1 or instance.is_ephemeral:
        for code, day in partitions:
            outcomes[code, day] = ok = ingest_partition(defs, instance, code, day, log_level)
            done(code, day, ok)
    else:
        # spawn: no threads or sockets inherited; each worker opens the instance once.
        with ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"), initializer=_open_worker_instance
        ) as pool:
            futures = {pool.submit(_worker_ingest, code, day, log_level): (code, day) for code, day in partitions}
            for future in as_completed(futures):
                code, day = futures[future]
                outcomes[code, day] = ok = future.result()
                done(code, day, ok)
    return [f"{code} {day}" for code, day in partitions if not outcomes[code, day]]


def build_kpis(
    defs: dg.Definitions, instance: dg.DagsterInstance, tags: dict[str, str] | None = None, log_level: str | None = None
) -> bool:
    """One run of the dbt models and the export, over every validated agency-day."""
    return defs.resolve_job_def("kpi_job").execute_in_process(
        instance=instance, raise_on_error=False, tags=tags, run_config=console_log_level(log_level)
    ).success


def unknown_agencies(agencies: list[str]) -> list[str]:
    """Codes the registry does not know (a typo would otherwise run nothing, silently)."""
    known = set(pq.read_table(paths.agencies_file(), columns=["agency_code"]).column("agency_code").to_pylist())
    return sorted(set(agencies) - known)


def run_days(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    days: list[date],
    *,
    agencies: list[str] | None = None,
    workers: int = 1,
    tags: dict[str, str] | None = None,
    on_planned: Callable[[int], None] | None = None,
    on_done: Callable[[str, date, bool], None] | None = None,
    log_level: str | None = None,
) -> RunReport:
    """Registry, then every agency-day (in `workers` processes on a persistent instance), then
    the KPIs once, tagged with `tags`. `on_planned(n)` learns how many agency-days there are
    once the registry is in; `on_done` is called as each finishes (see `progress_bar`)."""
    report = RunReport(days=days)
    if not register_agencies(defs, instance, log_level):
        report.failed.append("agency registry")
        return report
    if agencies and (unknown := unknown_agencies(agencies)):
        raise ValueError(f"not in the agency registry: {', '.join(unknown)}")
    partitions = agency_days(days, agencies)
    report.partitions = len(partitions)
    if on_planned:
        on_planned(len(partitions))
    report.failed = ingest(defs, instance, partitions, workers=workers, on_done=on_done, log_level=log_level)
    report.kpi_ok = build_kpis(defs, instance, tags=tags, log_level=log_level)
    return report


@contextmanager
def progress_bar(description: str, *, out: TextIO = sys.stderr, enabled: bool = True) -> Iterator[dict]:
    """A progress bar over agency-days (the failures counted as they come): yields `run_days`'
    hooks, with the runs' console logs quieted to warnings while the bar is shown (the event
    logs stay in the Dagster instance and UI)."""
    with tqdm(unit="agency-day", desc=description, file=out, disable=not enabled, dynamic_ncols=True) as bar:
        failures = 0

        def planned(total: int) -> None:
            bar.total = total
            bar.refresh()

        def done(code: str, day: date, ok: bool) -> None:
            nonlocal failures
            failures += not ok
            bar.set_postfix_str(f"{code} {day}" + (f", {failures} failed" if failures else ""), refresh=False)
            bar.update()

        yield {"on_planned": planned, "on_done": done, "log_level": "WARNING" if enabled else None}

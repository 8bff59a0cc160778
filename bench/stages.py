"""The pipeline's stages, each run by Dagster with the project's own assets, checks and resources.

`make run` materializes an agency-day in one run (catalogue, dossiers, checks, validated
hand-off). Here that run is cut in two jobs over the same assets, so that ingest (fetch,
parse, land) and validate (Great Expectations, the hand-off to dbt) are timed apart; the dbt
models and the export are the two halves of `kpi_job`. Every run reports how much of its time
was its steps, so Dagster's own cost per run can be told apart from the work.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta

import dagster as dg
import duckdb

from bench import floor
from pipelines import runner
from pipelines.definitions import defs
from pipelines.defs import publish as publish_defs
from pipelines.defs import sources, transform as transform_defs, validation
from pipelines.defs.partitions import AGENCY_DAY_PARTITIONS, agency_day_key
from pipelines.lib import paths
from pipelines.lib.landing import partition_path, publish_by_link
from pipelines.settings import warehouse_path

BENCH_DEFS = dg.Definitions.merge(defs, dg.Definitions(jobs=[
    dg.define_asset_job(
        "bench_ingest", partitions_def=AGENCY_DAY_PARTITIONS,
        selection=dg.AssetSelection.assets(sources.procedure_catalogue, sources.raw_dossiers).without_checks(),
    ),
    dg.define_asset_job(
        "bench_validate", partitions_def=AGENCY_DAY_PARTITIONS,
        selection=dg.AssetSelection.checks_for_assets(sources.procedure_catalogue, sources.raw_dossiers)
        | dg.AssetSelection.assets(validation.validated_dossiers),
    ),
    dg.define_asset_job("bench_transform", selection=dg.AssetSelection.assets(transform_defs.kpi_models)),
    dg.define_asset_job("bench_publish", selection=dg.AssetSelection.assets(publish_defs.open_data_export)),
]))

_instance: dg.DagsterInstance | None = None


def _open_instance() -> None:
    global _instance
    _instance = dg.DagsterInstance.get()


def _run(job_name: str, partition: tuple[str, str] | None = None) -> dict:
    """One run of a bench job on the step's persistent instance: success and time spent in steps."""
    if _instance is None:
        _open_instance()
    key = agency_day_key(partition[0], date.fromisoformat(partition[1])) if partition else None
    started = time.perf_counter()
    result = BENCH_DEFS.resolve_job_def(job_name).execute_in_process(
        instance=_instance, partition_key=key, raise_on_error=False, run_config=runner.console_log_level("WARNING"),
    )
    run_seconds = time.perf_counter() - started
    step_ms = sum(e.event_specific_data.duration_ms for e in result.all_events if e.event_type_value == "STEP_SUCCESS")
    blocked = any(
        e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.event_specific_data.passed
        and e.event_specific_data.severity == dg.AssetCheckSeverity.ERROR
        for e in result.all_events
    )
    outcome = {"ok": result.success and not blocked, "step_seconds": step_ms / 1000, "run_seconds": run_seconds}
    # dbt reports each model's own duration: what grows with the data, apart from dbt's fixed cost.
    models = {}
    for event in result.all_events:
        if event.event_type_value == "ASSET_MATERIALIZATION":
            duration = event.event_specific_data.materialization.metadata.get("Execution Duration")
            if duration is not None:
                models[event.asset_key.path[-1]] = round(duration.value, 3)
    if models:
        outcome["model_seconds"] = round(sum(models.values()), 3)
        outcome["slowest_models"] = dict(sorted(models.items(), key=lambda m: -m[1])[:3])
    return outcome


def _run_partitions(job_name: str, partitions: list[tuple[str, date]], workers: int) -> dict:
    """A run per agency-day in `workers` spawned processes, one agency-day at a time (as the runner)."""
    keys = [(code, day.isoformat()) for code, day in partitions]
    if workers <= 1:
        outcomes = [_run(job_name, key) for key in keys]
    else:
        with ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"), initializer=_open_instance
        ) as pool:
            outcomes = list(pool.map(_run, [job_name] * len(keys), keys))
    failed = [f"{code} {day}" for (code, day), o in zip(keys, outcomes) if not o["ok"]]
    return {"runs": len(keys), "failed": failed, "step_seconds": round(sum(o["step_seconds"] for o in outcomes), 3),
            "run_seconds": round(sum(o["run_seconds"] for o in outcomes), 3)}


def _partitions(day: str, agencies: list[str] | None) -> list[tuple[str, date]]:
    return runner.agency_days([date.fromisoformat(day)], agencies)


def landed_counts(day: str) -> dict:
    """Dossier versions landed for the day, and dossiers received (accepted) on it."""
    files = paths.raw_dossiers_root() / f"date={day}" / "*" / paths.DOSSIERS_FILE
    versions, received = duckdb.sql(
        f"select count(*), count(distinct dossier_code) filter (where cast(accepted_at as date) = date '{day}') "
        f"from read_parquet('{files}')"
    ).fetchall()[0]
    return {"versions": versions, "received": received}


def register() -> None:
    """The agency registry run (with its check): which agencies report on which day."""
    with dg.DagsterInstance.get() as instance:
        if not runner.register_agencies(defs, instance):
            raise RuntimeError("the agency registry run failed")


def source(day: str, workers: int) -> dict:
    """The registry run (set-up: which agencies report on the day), then the simulator's first
    serving of the day, timed: it generates and renders every page, then keeps them."""
    register()
    started = time.perf_counter()
    served = floor.fetch(day, workers)
    return {**served, "seconds": round(time.perf_counter() - started, 3)}


def ingest(day: str, workers: int, agencies: list[str] | None = None) -> dict:
    """The registry, then catalogue and dossiers for every agency-day."""
    register()
    outcome = _run_partitions("bench_ingest", _partitions(day, agencies), workers)
    return {**outcome, **landed_counts(day)}


def validate(day: str, workers: int, agencies: list[str] | None = None) -> dict:
    """The checks of every landed agency-day and, where none blocked, the validated/ hand-off."""
    return _run_partitions("bench_validate", _partitions(day, agencies), workers)


def transform() -> dict:
    """`dbt build` of every model and test, through the dbt asset."""
    warehouse_path().parent.mkdir(parents=True, exist_ok=True)
    outcome = _run("bench_transform")
    if not outcome["ok"]:
        raise RuntimeError("dbt build failed: see the log above")
    return outcome


def publish() -> dict:
    """The open-data export (a release of the KPI tables), through its asset."""
    outcome = _run("bench_publish")
    if not outcome["ok"]:
        raise RuntimeError("the open-data export failed: see the log above")
    return outcome


def orchestrated(day: str, workers: int) -> dict:
    """The day as `make run` runs it: pipelines.runner, one Dagster run per agency-day, then kpi_job."""
    with dg.DagsterInstance.get() as instance:
        report = runner.run_days(defs, instance, [date.fromisoformat(day)], workers=workers)
    if not report.kpi_ok:
        raise RuntimeError(f"kpi_job failed; failed agency-days: {report.failed}")
    return {"runs": report.partitions, "failed": report.failed}


def land_history(last_day: str, days: int, share: int, workers: int) -> dict:
    """`days` days up to `last_day` for one agency in `share` reporting on it, fast: the source
    assets invoked directly (no Dagster run, no checks), then published to validated/ by hard
    links as the hand-off does."""
    end = date.fromisoformat(last_day)
    register()
    agencies = runner.agencies_reporting_on(end)[share // 2::share]  # not the first: Public Security's volume
    partitions = [(code, end - timedelta(days=n)) for n in range(days - 1, -1, -1) for code in agencies]
    keys = [(code, day.isoformat()) for code, day in partitions]
    if workers <= 1:
        rows = [_land_directly(*key) for key in keys]
    else:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            rows = list(pool.map(_land_directly, *zip(*keys), chunksize=8))
    return {"agencies": agencies, "agency_days": len(keys), "versions": sum(rows)}


def _land_directly(code: str, day_iso: str) -> int:
    day = date.fromisoformat(day_iso)
    context = dg.build_asset_context(
        partition_key=agency_day_key(code, day),
        resources={name: defs.resources[name] for name in ("agency_api", "hash_key")},
    )
    sources.procedure_catalogue(context)
    landed = sources.raw_dossiers(context).metadata["rows"]
    raw = partition_path(paths.raw_dossiers_root(), day, code, paths.DOSSIERS_FILE)
    publish_by_link(partition_path(paths.procedures_root(), day, code, paths.PROCEDURES_FILE),
                    paths.validated_procedures_file(code, day))
    publish_by_link(raw, partition_path(paths.validated_dossiers_root(), day, code, paths.DOSSIERS_FILE))
    publish_by_link(raw.with_name(paths.PARTITION_FILE),
                    partition_path(paths.validated_partitions_root(), day, code, paths.PARTITION_FILE))
    return landed

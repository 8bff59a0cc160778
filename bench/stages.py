"""The pipeline's stages, each run by Dagster with the project's own assets, checks and resources.

A day's ingestion run (catalogues, dossiers, Great Expectations once per suite, the validated
hand-off) is cut here in two jobs over the same assets, so that ingest (fetch, parse, land) and
validate are timed apart; the dbt models and the export are the two halves of `kpi_job`. Each
is one in-process run covering the day and every agency, as the daemon's runs do. Every run
reports how much of its time was its steps, so Dagster's own cost per run can be told apart.
`orchestrated` and the history plan (bench/history.py) go through the instance and its daemon,
as `make run` and a backfill from the UI do.
"""

from __future__ import annotations

import time
from datetime import date, timedelta

import dagster as dg
import duckdb

from bench import fixed_costs, floor
from pipelines.definitions import defs
from pipelines.defs import publish as publish_defs
from pipelines.defs import sources, transform as transform_defs, validation
from pipelines.defs.partitions import AGENCIES_TAG, DAILY_PARTITIONS
from pipelines.defs.schedules import RANGE_END_TAG, RANGE_START_TAG
from pipelines.lib import dbt_runs, paths
from pipelines.lib.agency_days import agency_days
from pipelines.settings import data_dir, warehouse_path

BENCH_DEFS = dg.Definitions.merge(defs, dg.Definitions(jobs=[
    dg.define_asset_job("bench_ingest", partitions_def=DAILY_PARTITIONS,
                        selection=dg.AssetSelection.assets(sources.procedure_catalogue, sources.raw_dossiers)),
    dg.define_asset_job("bench_validate", partitions_def=DAILY_PARTITIONS,
                        selection=dg.AssetSelection.assets(validation.validation)),
    dg.define_asset_job("bench_transform", selection=dg.AssetSelection.assets(transform_defs.kpi_models)),
    dg.define_asset_job("bench_publish", selection=dg.AssetSelection.assets(publish_defs.open_data_export)),
]))
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _run(job_name: str, first: date | None = None, last: date | None = None,
         agencies: list[str] | None = None) -> dict:
    """One in-process run of a bench job (over the days first … last, when partitioned): success,
    time spent in steps, dbt's per-model times and, for a build, its phases (bench.fixed_costs)."""
    tags = {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: (last or first).isoformat()} if first else {}
    if agencies:
        tags[AGENCIES_TAG] = ",".join(agencies)
    started = time.perf_counter()
    with dg.DagsterInstance.get() as instance:
        result = BENCH_DEFS.resolve_job_def(job_name).execute_in_process(
            instance=instance, tags=tags, raise_on_error=False, run_config=QUIET)
        run_seconds = time.perf_counter() - started
        step_ms = sum(e.event_specific_data.duration_ms for e in result.all_events
                      if e.event_type_value == "STEP_SUCCESS")
        outcome = {"ok": result.success, "runs": 1, "step_seconds": round(step_ms / 1000, 3),
                   "run_seconds": round(run_seconds, 3)}
        target = dbt_runs.build_dir(result.run_id)
        if target.exists():  # a dbt build: only then is the run's log read (a tenth of a second)
            outcome.update(fixed_costs.build_phases(instance.all_logs(result.run_id), target, outcome["step_seconds"]))
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


def _left_out(day: date, agencies: list[str] | None) -> list[str]:
    return [f"{code} {d}" for code, d in agency_days([day], agencies) if not paths.is_validated(code, d)]


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
    if not _run("registry_job")["ok"]:
        raise RuntimeError("the agency registry run failed")


def parse_for_this_warehouse() -> None:
    """dbt's parse state for this data directory's warehouse, as `make manifest` leaves one for
    data/ before `make run`. The warehouse path is part of dbt's profile hash, so without it the
    bench's first build would parse the whole project, which no build of `make run` does."""
    target = dbt_runs.dbt_dir() / "parse"
    transform_defs.InstalledDbt.beside_this_python(transform_defs.DBT_PROJECT).cli(
        ["parse", "--quiet"], target_path=target).wait()
    dbt_runs.keep_parse_state(target)


def source(day: str, workers: int) -> dict:
    """Set-up (the registry run: which agencies report on the day; dbt's parse for this
    warehouse), then the simulator's first serving of the day, timed: it generates and renders
    every page, then keeps them."""
    register()
    parse_for_this_warehouse()
    started = time.perf_counter()
    served = floor.fetch(day, workers)
    return {**served, "seconds": round(time.perf_counter() - started, 3)}


def ingest(day: str, workers: int, agencies: list[str] | None = None) -> dict:
    """The registry, then one run pulling the catalogue and dossiers of every agency of the day
    (`EGOV_PULL_THREADS` agencies at once; `workers` is the floor's and the peer's)."""
    register()
    outcome = _run("bench_ingest", date.fromisoformat(day), agencies=agencies)
    return {**outcome, "agency_days": len(agency_days([date.fromisoformat(day)], agencies)), **landed_counts(day)}


def validate(day: str, workers: int, agencies: list[str] | None = None) -> dict:
    """One run: each suite once over the day's landed rows, then every agency-day judged and published."""
    outcome = _run("bench_validate", date.fromisoformat(day), agencies=agencies)
    return {**outcome, "failed": _left_out(date.fromisoformat(day), agencies)}


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


def orchestrated(first: str, last: str | None = None, agencies: list[str] | None = None) -> dict:
    """Days as `make run` and the UI run them: one backfill through the instance and its daemon,
    then the KPI run the sensor requests (pipelines/orchestration.py)."""
    from pipelines.lib.agency_days import date_range
    from pipelines.orchestration import running_daemon, submit_backfill, wait_for_backfill

    days = date_range(date.fromisoformat(first), date.fromisoformat(last or first))
    with dg.DagsterInstance.get() as instance, running_daemon(instance, data_dir() / "daemon.log"):
        submitted = time.time()
        backfill_id = submit_backfill(instance, defs, days, agencies=agencies, title=f"bench {first} … {last}")
        report = wait_for_backfill(instance, backfill_id, days, agencies=agencies)
        runs = timeline(instance, backfill_id, submitted)
    if not report.kpi_ok:
        raise RuntimeError(f"the KPI run after backfill {backfill_id} failed; left out: {report.failed[:10]}")
    return {"runs": report.runs, "agency_days": report.agency_days, "failed": report.failed,
            "warehouse_mb": round(warehouse_path().stat().st_size / 2**20, 1), "timeline": runs}


def timeline(instance: dg.DagsterInstance, backfill_id: str, submitted: float) -> list[dict]:
    """The backfill's runs and its KPI run, in order: when each was queued, started and ended
    (seconds after the submission) and its steps' seconds, to tell waiting from work."""
    from pipelines.defs.schedules import BATCH_TAG
    from pipelines.defs.sensors import BACKFILL_TAG

    records = [*instance.get_run_records(dg.RunsFilter(tags={BACKFILL_TAG: backfill_id})),
               *instance.get_run_records(dg.RunsFilter(tags={BATCH_TAG: f"backfill:{backfill_id}"}))]
    since = lambda moment: round(moment - submitted, 2) if moment else None  # noqa: E731
    return [{"job": r.dagster_run.job_name, "queued": since(r.create_timestamp.timestamp()),
             "started": since(r.start_time), "ended": since(r.end_time),
             "steps": {s.step_key: round(s.end_time - s.start_time, 2)
                       for s in instance.get_run_step_stats(r.dagster_run.run_id) if s.start_time and s.end_time}}
            for r in sorted(records, key=lambda r: r.create_timestamp)]


def land_history(last_day: str, days: int, share: int, workers: int) -> dict:
    """`days` days up to `last_day` for one agency in `share` reporting on it: in-process ingestion
    runs (a run per week, as the backfill policy cuts them), validated as any other."""
    end = date.fromisoformat(last_day)
    register()
    agencies = [code for code, _ in agency_days([end])][share // 2::share]  # not the first: Public Security's volume
    first = end - timedelta(days=days - 1)
    versions = 0
    start = first
    while start <= end:
        stop = min(end, start + timedelta(days=6))
        if not _run("ingest_job", start, stop, agencies=agencies)["ok"]:
            raise RuntimeError(f"ingestion of {start} … {stop} failed")
        start = stop + timedelta(days=1)
    files = paths.validated_dossiers_root() / "*" / "*" / paths.DOSSIERS_FILE
    versions = duckdb.sql(f"select count(*) from read_parquet('{files}')").fetchall()[0][0]
    return {"agencies": agencies, "agency_days": len(agencies) * days, "versions": versions}

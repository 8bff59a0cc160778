"""Source assets: the agency registry, and per day the procedure catalogues and dossier versions
of every agency reporting that day, pulled concurrently (the work is I/O against many APIs).

A run covers a range of days (docs/operations.md, "Runs and partitions"). An agency-day that
cannot be pulled fails alone: it is named in the run's log, in the asset's metadata and in the
`*_pulled` check, nothing of it stays landed, and the other agency-days go on.
"""

import time
from collections.abc import Callable
from datetime import date

import dagster as dg

from pipelines.defs.partitions import DAILY_PARTITIONS, INGEST_BACKFILL_POLICY, run_agency_days
from pipelines.defs.reporting import agency_day_table, pull_check, record_pulls
from pipelines.defs.resources import AgencyApi, DayLocks, HashKey
from pipelines.lib import paths
from pipelines.lib.ingest import ingest_dossiers
from pipelines.lib.landing import partition_path, write_parquet_atomic
from pipelines.lib.pulls import AgencyDayOutcome, pull_all
from pipelines.lib.reference import AGENCY_SCHEMA, PROCEDURE_SCHEMA, parse_agency, parse_procedure

INGEST_RETRY = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


@dg.asset(group_name="sources", kinds={"python", "parquet"}, pool="agency_api")
def agency_registry(agency_api: AgencyApi) -> dg.MaterializeResult:
    """Every ministry and province that reports, with validity dates: which agencies a day pulls."""
    agencies = sorted((parse_agency(a) for a in agency_api.client().agencies()), key=lambda a: a["agency_code"])
    size = write_parquet_atomic(agencies, AGENCY_SCHEMA, paths.agencies_file())
    return dg.MaterializeResult(metadata={"agencies": len(agencies), "bytes": size, "path": str(paths.agencies_file())})


# What both per-day pulls share: daily partitions, runs of many days, the agency API pool, retries.
DAILY_SOURCE = dict(
    group_name="sources",
    kinds={"python", "parquet"},
    partitions_def=DAILY_PARTITIONS,
    backfill_policy=INGEST_BACKFILL_POLICY,
    deps=[agency_registry],
    pool="agency_api",
    retry_policy=INGEST_RETRY,
)

PROCEDURES_PULLED = "procedure_catalogue_pulled"
DOSSIERS_PULLED = "raw_dossiers_pulled"


def _pull(context, what: str, pull_one: Callable[[str, date], dict], discard: Callable[[str, date], None],
          check_name: str) -> dg.MaterializeResult:
    """Pull every agency-day of the run with `pull_one` (its landed metadata), discarding what a
    failed one left; report per day and as one check result."""
    started = time.perf_counter()
    outcomes = pull_all(run_agency_days(context), pull_one, discard)
    for failed in (o for o in outcomes if not o.ok):
        context.log.error(f"{what}: {failed.describe()}")
    record_pulls(context, context.assets_def.key, outcomes)
    landed = [o for o in outcomes if o.ok]
    totals = {key: sum(o.metadata.get(key, 0) for o in landed) for key in _SUMMED}
    return dg.MaterializeResult(
        metadata={
            "agency_days": len(outcomes),
            "landed": len(landed),
            "failed": len(outcomes) - len(landed),
            **{key: value for key, value in totals.items() if any(key in o.metadata for o in landed)},
            "failures": agency_day_table([o for o in outcomes if not o.ok]),
            "duration_seconds": round(time.perf_counter() - started, 3),
        },
        check_results=[pull_check(check_name, outcomes)],
    )


# Per agency-day counts that add up over a run.
_SUMMED = ("procedures", "source_total", "received", "rows", "quarantined", "duplicates", "pages", "retries",
           "bytes_received", "bytes_landed")


@dg.asset(**DAILY_SOURCE, check_specs=[dg.AssetCheckSpec(PROCEDURES_PULLED, asset="procedure_catalogue",
          description="Every agency-day of the run pulled its catalogue; fails naming those that could not be.")])
def procedure_catalogue(context: dg.AssetExecutionContext, agency_api: AgencyApi, day_locks: DayLocks) -> dg.MaterializeResult:
    """Each agency's administrative procedures and the online level of each, as of the day."""
    client = agency_api.client()

    def pull_one(agency_code: str, day: date) -> dict:
        # A catalogue being re-pulled is no longer validated until its check passes again.
        paths.validated_procedures_file(agency_code, day).unlink(missing_ok=True)
        rows = sorted((parse_procedure(p, agency_code, day) for p in client.procedures(agency_code, day)),
                      key=lambda r: r["procedure_code"])
        path = partition_path(paths.procedures_root(), day, agency_code, paths.PROCEDURES_FILE)
        return {"procedures": len(rows), "bytes_landed": write_parquet_atomic(rows, PROCEDURE_SCHEMA, path)}

    def discard(agency_code: str, day: date) -> None:
        partition_path(paths.procedures_root(), day, agency_code, paths.PROCEDURES_FILE).unlink(missing_ok=True)

    return _pull(context, "procedure catalogue", pull_one, discard, PROCEDURES_PULLED)


@dg.asset(**DAILY_SOURCE, check_specs=[dg.AssetCheckSpec(DOSSIERS_PULLED, asset="raw_dossiers",
          description="Every agency-day of the run landed its dossiers; fails naming those that could not be.")])
def raw_dossiers(context: dg.AssetExecutionContext, agency_api: AgencyApi, hash_key: HashKey,
                 day_locks: DayLocks) -> dg.MaterializeResult:
    """Dossier versions updated during each day, personal data removed, reconciled with the source's total."""
    client, key = agency_api.client(), hash_key.key()

    def pull_one(agency_code: str, day: date) -> dict:
        # An agency-day being re-ingested is no longer validated until its checks pass again.
        paths.unpublish_validated(agency_code, day)
        return ingest_dossiers(client, agency_code, day, key, paths.raw_dossiers_root(),
                               paths.quarantine_root()).metadata()

    return _pull(context, "dossiers", pull_one, paths.discard_landed_dossiers, DOSSIERS_PULLED)

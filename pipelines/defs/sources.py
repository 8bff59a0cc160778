"""Source assets: the agency registry, procedure catalogues and dossier versions per agency-day."""

import time

import dagster as dg

from pipelines.defs.partitions import AGENCY_DAY_PARTITIONS, AGENCY_PARTITIONS, agency_day
from pipelines.defs.resources import AgencyApi, HashKey
from pipelines.lib import paths
from pipelines.lib.ingest import ingest_dossiers
from pipelines.lib.landing import partition_path, write_parquet_atomic
from pipelines.lib.reference import AGENCY_SCHEMA, PROCEDURE_SCHEMA, parse_agency, parse_procedure

INGEST_RETRY = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


@dg.asset(group_name="sources", kinds={"python", "parquet"}, pool="agency_api")
def agency_registry(context: dg.AssetExecutionContext, agency_api: AgencyApi) -> dg.MaterializeResult:
    """Every ministry and province that reports, with validity dates; registers agency partitions."""
    agencies = sorted((parse_agency(a) for a in agency_api.client().agencies()), key=lambda a: a["agency_code"])
    size = write_parquet_atomic(agencies, AGENCY_SCHEMA, paths.agencies_file())
    codes = [a["agency_code"] for a in agencies]
    known = set(context.instance.get_dynamic_partitions(AGENCY_PARTITIONS.name))
    new = [c for c in codes if c not in known]
    if new:
        context.instance.add_dynamic_partitions(AGENCY_PARTITIONS.name, new)
    return dg.MaterializeResult(
        metadata={"agencies": len(agencies), "new_partitions": len(new), "bytes": size, "path": str(paths.agencies_file())}
    )


# What every per-agency-day pull shares: partitions, the agency API pool, retries.
AGENCY_DAY_SOURCE = dict(
    group_name="sources",
    kinds={"python", "parquet"},
    partitions_def=AGENCY_DAY_PARTITIONS,
    deps=[agency_registry],
    pool="agency_api",
    retry_policy=INGEST_RETRY,
)


@dg.asset(**AGENCY_DAY_SOURCE)
def procedure_catalogue(context: dg.AssetExecutionContext, agency_api: AgencyApi) -> dg.MaterializeResult:
    """The agency's administrative procedures and the online level of each, as of the day."""
    agency_code, day = agency_day(context)
    # A catalogue being re-pulled is no longer validated until its check passes again.
    paths.validated_procedures_file(agency_code, day).unlink(missing_ok=True)
    rows = [parse_procedure(p, agency_code, day) for p in agency_api.client().procedures(agency_code, day)]
    rows.sort(key=lambda r: r["procedure_code"])
    path = partition_path(paths.procedures_root(), day, agency_code, paths.PROCEDURES_FILE)
    size = write_parquet_atomic(rows, PROCEDURE_SCHEMA, path)
    return dg.MaterializeResult(metadata={"procedures": len(rows), "bytes": size, "path": str(path)})


@dg.asset(**AGENCY_DAY_SOURCE)
def raw_dossiers(context: dg.AssetExecutionContext, agency_api: AgencyApi, hash_key: HashKey) -> dg.MaterializeResult:
    """Dossier versions updated during the day, personal data removed, reconciled with the source's total."""
    agency_code, day = agency_day(context)
    started = time.perf_counter()
    # A partition being re-ingested is no longer validated until its checks pass again.
    paths.unpublish_validated(agency_code, day)
    result = ingest_dossiers(
        agency_api.client(), agency_code, day, hash_key.key(), paths.raw_dossiers_root(), paths.quarantine_root()
    )
    return dg.MaterializeResult(
        metadata={**result.metadata(), "duration_seconds": round(time.perf_counter() - started, 3)}
    )

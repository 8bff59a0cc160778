"""Great Expectations on each landed agency-day, and the gate that lets it through to dbt.

The suites are in expectations/, what each failure means in docs/data-quality.md. Checks that
are blocking stop `validated_dossiers` for the agency-day when they fail with ERROR severity,
so the KPI models never read it; rows failing a row-level expectation are quarantined instead
and the agency-day goes on without them (a WARN result), unless there are too many of them.
"""


import dagster as dg
import pyarrow.parquet as pq

from pipelines.defs.partitions import AGENCY_DAY_PARTITIONS, agency_day
from pipelines.defs.sources import agency_registry, procedure_catalogue, raw_dossiers
from pipelines.lib import data_docs, paths
from pipelines.lib.expectations import SuiteResult, read_for_suite, validate_frame
from pipelines.lib.landing import partition_path, publish_by_link, sha256_of, write_table_atomic
from pipelines.lib.validation import (
    VALIDATION_QUARANTINE_FILE,
    Verdict,
    block_share,
    published_manifest,
    read_validation_quarantine,
    reconciles,
    split_rows,
    verdict,
    volume_bounds,
    volume_history,
    with_accounted_total,
    without_quarantined,
    write_validation_quarantine,
)

ROWS_CHECK = "raw_dossiers_expectations"
PARTITION_CHECK = "raw_dossiers_partition_expectations"
VOLUME_CHECK = "raw_dossiers_volume"
DOCS = "docs/data-quality.md"


def _report(
    context, check_name: str, outcome: SuiteResult, judged: Verdict, folders: tuple[str, str], where: str, extra: dict
) -> dg.AssetCheckResult:
    """The check result: statistics, failed expectations with samples, and the Data Docs page."""
    status = "blocked" if judged.blocked else ("warning" if judged.failed else "passed")
    page = data_docs.publish(outcome, folders, status)
    failed = ", ".join(f.name for f in outcome.failures)
    if judged.blocked:
        description = (f"{where}: BLOCKED by {failed or 'too many quarantined rows'}; kept out of the KPIs until it is "
                       f"re-ingested and passes (what to do: {DOCS})")
        context.log.error(f"{check_name}: {description}\n{judged.markdown()}")
    elif judged.failed:
        description = f"{where}: {failed} failed; the agency-day goes on ({DOCS})"
    else:
        description = f"{where}: all {outcome.evaluated} expectations passed"
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=not judged.failed,
        severity=dg.AssetCheckSeverity.ERROR if judged.blocked else dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={
            **extra,
            "suite": outcome.suite,
            "rows": outcome.rows,
            "expectations_evaluated": outcome.evaluated,
            "blocking_failures": len(outcome.blocking_failures),
            "failures": dg.MetadataValue.md(judged.markdown()),
            "data_docs": dg.MetadataValue.path(str(page)),
            "data_docs_url": dg.MetadataValue.url(page.as_uri()),
        },
    )


@dg.multi_asset_check(
    name="raw_dossiers_checks",
    specs=[
        dg.AssetCheckSpec(ROWS_CHECK, asset=raw_dossiers, blocking=True, partitions_def=AGENCY_DAY_PARTITIONS,
                          description="The raw_dossiers suite: failing rows are quarantined; blocks on partition-level "
                                      "failures or when too many rows fail."),
        dg.AssetCheckSpec(PARTITION_CHECK, asset=raw_dossiers, blocking=True, partitions_def=AGENCY_DAY_PARTITIONS,
                          description="The raw_dossier_partitions suite: schema drift and reconciliation; blocks."),
        dg.AssetCheckSpec(VOLUME_CHECK, asset=raw_dossiers, blocking=False, partitions_def=AGENCY_DAY_PARTITIONS,
                          description="The row count against the same weekday of the previous weeks; a warning."),
    ],
)
def raw_dossiers_checks(context: dg.AssetCheckExecutionContext):
    """The three dossier suites on the landed agency-day, and its validation quarantine."""
    agency_code, day = agency_day(context)
    where = f"agency {agency_code}, day {day}"
    folders = data_docs.partition_folders(agency_code, day)
    landed_path = partition_path(paths.raw_dossiers_root(), day, agency_code, paths.DOSSIERS_FILE)
    manifest = pq.read_table(landed_path.with_name(paths.PARTITION_FILE))
    facts = counts_of(manifest)
    frame = read_for_suite(landed_path, "raw_dossiers")

    share = block_share()
    rows = validate_frame(frame, "raw_dossiers", run_name=where)
    split = split_rows(landed_path, rows.failures, agency_code, day)
    rows_verdict = verdict(rows, split.removed, share)
    partition = validate_frame(with_accounted_total(manifest.to_pandas()), "raw_dossier_partitions",
                               key_column=None, run_name=where)
    partition_verdict = verdict(partition)
    quarantine_path = partition_path(paths.quarantine_root(), day, agency_code, VALIDATION_QUARANTINE_FILE)
    write_validation_quarantine(split.quarantine, quarantine_path, facts["content_sha256"],
                                blocked=rows_verdict.blocked or partition_verdict.blocked)

    base = {"agency": agency_code, "day": day.isoformat()}
    yield _report(context, ROWS_CHECK, rows, rows_verdict, folders, where, {
        **base,
        "quarantined_rows": split.removed,
        "quarantined_share": round(split.removed / rows.rows, 4) if rows.rows else 0.0,
        "max_quarantined_share": share,
        "quarantine_path": dg.MetadataValue.path(str(quarantine_path)),
    })
    yield _report(context, PARTITION_CHECK, partition, partition_verdict, folders, where, {
        **base,
        **{k: facts[k] for k in ("source_total", "landed", "quarantined", "duplicates", "unknown_fields", "missing_fields")},
    })

    history = volume_history(paths.validated_partitions_root(), agency_code, day, paths.PARTITION_FILE)
    bounds = volume_bounds(history)
    if bounds is None:
        yield dg.AssetCheckResult(
            check_name=VOLUME_CHECK, passed=True,
            description=f"{where}: no bounds yet ({len(history)} earlier same weekdays validated)",
            metadata={**base, "rows": len(frame), "history_weeks": len(history)},
        )
        return
    volume = validate_frame(frame, "raw_dossiers_volume", key_column=None, run_name=where,
                            parameters={"volume_min": bounds.low, "volume_max": bounds.high})
    yield _report(context, VOLUME_CHECK, volume, verdict(volume), folders, where, {
        **base, "volume_min": bounds.low, "volume_max": bounds.high, "history_median": float(bounds.median),
        "history_weeks": bounds.weeks,
    })


@dg.asset_check(asset=procedure_catalogue, blocking=True, partitions_def=AGENCY_DAY_PARTITIONS,
                name="procedure_catalogue_expectations")
def procedure_catalogue_expectations(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    """The procedure_catalogue suite; published to validated/ (what dbt reads) only when it passes.

    A blocking failure keeps the agency-day out of the KPIs: the gate will not publish its
    dossiers without a validated catalogue, and dbt never sees the bad one.
    """
    agency_code, day = agency_day(context)
    where = f"agency {agency_code}, day {day}"
    path = partition_path(paths.procedures_root(), day, agency_code, paths.PROCEDURES_FILE)
    outcome = validate_frame(pq.read_table(path).to_pandas(), "procedure_catalogue", key_column="procedure_code",
                             run_name=where)
    judged = verdict(outcome)
    validated = paths.validated_procedures_file(agency_code, day)
    if judged.blocked:
        validated.unlink(missing_ok=True)
    else:
        publish_by_link(path, validated)
    return _report(context, "procedure_catalogue_expectations", outcome, judged,
                   data_docs.partition_folders(agency_code, day), where,
                   {"agency": agency_code, "day": day.isoformat()})


@dg.asset_check(asset=agency_registry, blocking=True, name="agency_registry_expectations")
def agency_registry_expectations(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    """The agency_registry suite: codes, levels, validity dates, successors."""
    frame = pq.read_table(paths.agencies_file()).to_pandas()
    outcome = validate_frame(frame, "agency_registry", key_column="agency_code", run_name="agency registry",
                             parameters={"agency_codes": sorted(frame["agency_code"].dropna())})
    return _report(context, "agency_registry_expectations", outcome, verdict(outcome), ("latest", "registry"),
                   "agency registry", {})


def counts_of(manifest) -> dict:
    return manifest.to_pylist()[0]


@dg.multi_asset(
    specs=[
        dg.AssetSpec("validated_dossiers", deps=[raw_dossiers, procedure_catalogue], group_name="validated",
                     kinds={"parquet"},
                     description="The agency-day's dossier versions that passed validation, for dbt, once its "
                                 "blocking checks passed; quarantined rows left out."),
        dg.AssetSpec("validated_partitions", deps=[raw_dossiers, procedure_catalogue], group_name="validated",
                     kinds={"parquet"},
                     description="One row per validated agency-day: the source's total, landed and quarantined."),
    ],
    partitions_def=AGENCY_DAY_PARTITIONS,
)
def validated_dossiers(context: dg.AssetExecutionContext):
    """Publish the agency-day to dbt: by hard link when nothing was quarantined, else filtered."""
    agency_code, day = agency_day(context)
    where = f"agency {agency_code}, day {day}"
    landed_path = partition_path(paths.raw_dossiers_root(), day, agency_code, paths.DOSSIERS_FILE)
    manifest_path = landed_path.with_name(paths.PARTITION_FILE)
    manifest = pq.read_table(manifest_path)
    landed_sha = manifest.column("content_sha256")[0].as_py()
    judged = read_validation_quarantine(
        partition_path(paths.quarantine_root(), day, agency_code, VALIDATION_QUARANTINE_FILE)
    )
    if judged is None or judged.landed_sha256 != landed_sha:
        raise dg.Failure(f"{where}: this landing of raw_dossiers has not been through its checks; materialize "
                         "raw_dossiers for the partition with its checks (ingest_job), then this asset.")
    if judged.blocked:
        raise dg.Failure(f"{where}: a blocking check failed on this landing, so it is not published; see the "
                         f"raw_dossiers checks of the partition and {DOCS}, fix, and re-ingest the partition.")
    if not paths.validated_procedures_file(agency_code, day).exists():
        raise dg.Failure(f"{where}: the procedure catalogue of this agency-day has not passed its check "
                         "(procedure_catalogue_expectations), so its dossiers are not published; see the check, "
                         f"{DOCS}, and re-pull the catalogue with its check.")
    removed = judged.table.num_rows
    dossiers_target = partition_path(paths.validated_dossiers_root(), day, agency_code, paths.DOSSIERS_FILE)
    manifest_target = partition_path(paths.validated_partitions_root(), day, agency_code, paths.PARTITION_FILE)
    if removed == 0:
        published = manifest
        publish_by_link(landed_path, dossiers_target)
    else:
        kept = without_quarantined(pq.read_table(landed_path), judged.table)
        if kept.num_rows != counts_of(manifest)["landed"] - removed:
            raise dg.Failure(f"{where}: {removed} rows are in the validation quarantine but "
                             f"{counts_of(manifest)['landed'] - kept.num_rows} matched the landing; nothing was "
                             "published. Re-run the raw_dossiers checks of the partition, then this asset.")
        write_table_atomic(kept, dossiers_target)
        published = published_manifest(manifest, removed, sha256_of(dossiers_target))
    counts = counts_of(published)
    if not reconciles(counts):
        dossiers_target.unlink(missing_ok=True)
        raise dg.Failure(f"{where}: the source reported {counts['source_total']} records but validated/ and quarantine "
                         f"hold {counts['landed']} + {counts['quarantined']} - {counts['duplicates']} duplicates; "
                         "nothing was published. Re-ingest the partition; if it persists, report it as a bug.")
    if removed == 0:
        publish_by_link(manifest_path, manifest_target)
    else:
        write_table_atomic(published, manifest_target)
    metadata = {k: v for k, v in counts.items() if k not in ("day", "agency_code")}
    yield dg.MaterializeResult(asset_key="validated_dossiers",
                               metadata={"rows": counts["landed"], "quarantined_by_validation": removed})
    yield dg.MaterializeResult(asset_key="validated_partitions", metadata=metadata)

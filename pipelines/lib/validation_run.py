"""Validate the agency-days of a run at once, then judge and publish each one alone.

Each Great Expectations suite runs once over all the rows of the run's agency-days (a handful
of GX calls per run instead of four per agency-day). The outcome is then cut back into
agency-days (`SuiteResult.part`): rows are still quarantined one by one, an agency-day is still
blocked on its own failures, and only the agency-days that pass reach validated/, what dbt reads.
Runs too large for memory are validated in chunks of whole agency-days (`EGOV_VALIDATION_CHUNK_ROWS`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from typing import Iterator

import pyarrow as pa

from pipelines.lib import paths
from pipelines.lib.expectations import SuiteResult, read_for_suite, validate_frame
from pipelines.lib.landing import partition_path, publish_by_link, read_parquet, sha256_of, write_table_atomic
from pipelines.lib.validation import (
    Verdict,
    block_share,
    published_manifest,
    read_validation_quarantine,
    reconciles,
    split_rows,
    verdict,
    volume_bounds,
    volume_histories,
    with_accounted_total,
    without_quarantined,
    write_validation_quarantine,
)

CHUNK_ROWS_ENV = "EGOV_VALIDATION_CHUNK_ROWS"
DEFAULT_CHUNK_ROWS = 2_000_000
DOCS = "docs/data-quality.md"
SUITES = ("procedure_catalogue", "raw_dossiers", "raw_dossier_partitions", "raw_dossiers_volume")


class GateError(RuntimeError):
    """An agency-day that passed its checks could not be published; the message says why and what to do."""


@dataclass
class AgencyDayVerdict:
    """What validation decided for one agency-day, suite by suite (suite → verdict)."""

    agency_code: str
    day: date
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    quarantined: int = 0
    published: bool = False
    # Why it is not published: a blocking suite, a missing landing, or the gate's own error.
    reason: str = ""

    @property
    def where(self) -> str:
        return f"agency {self.agency_code}, day {self.day}"

    @property
    def status(self) -> str:
        if not self.published:
            return "blocked" if any(v.blocked for v in self.verdicts.values()) else "not published"
        return "quarantined rows" if self.quarantined else "validated"


@dataclass
class RunValidation:
    """Every agency-day's verdict, and each suite's whole-run outcomes (one per chunk) for Data Docs."""

    agency_days: list[AgencyDayVerdict]
    outcomes: dict[str, list[SuiteResult]] = field(default_factory=dict)

    def by_suite(self, suite: str) -> list[AgencyDayVerdict]:
        return [a for a in self.agency_days if suite in a.verdicts]


def chunk_rows() -> int:
    return max(1, int(os.environ.get(CHUNK_ROWS_ENV) or DEFAULT_CHUNK_ROWS))


def chunks(sizes: list[int], budget: int) -> Iterator[range]:
    """Consecutive ranges of items whose sizes add up to at most `budget` (an item alone may exceed it)."""
    start, total = 0, 0
    for i, size in enumerate(sizes):
        if i > start and total + size > budget:
            yield range(start, i)
            start, total = i, 0
        total += size
    if start < len(sizes):
        yield range(start, len(sizes))


def _offsets(sizes: list[int]) -> list[int]:
    out = [0]
    for size in sizes:
        out.append(out[-1] + size)
    return out


def validate_agency_days(agency_days: list[tuple[str, date]], run_name: str) -> RunValidation:
    """Validate and publish every landed agency-day of `agency_days` (procedures, then dossiers)."""
    verdicts = {key: AgencyDayVerdict(*key) for key in agency_days}
    run = RunValidation(agency_days=list(verdicts.values()))
    catalogues = [key for key in agency_days if _catalogue_path(*key).exists()]
    _validate_catalogues(catalogues, verdicts, run, run_name)
    landed = [key for key in agency_days if _manifest_path(*key).exists()]
    _validate_dossiers(landed, verdicts, run, run_name)
    for item in run.agency_days:
        if not item.published and not item.reason:
            item.reason = "not landed (its pull failed: see the raw_dossiers_pulled check)"
    return run


def _catalogue_path(agency_code: str, day: date):
    return partition_path(paths.procedures_root(), day, agency_code, paths.PROCEDURES_FILE)


def _landed_path(agency_code: str, day: date):
    return partition_path(paths.raw_dossiers_root(), day, agency_code, paths.DOSSIERS_FILE)


def _manifest_path(agency_code: str, day: date):
    return _landed_path(agency_code, day).with_name(paths.PARTITION_FILE)


def _validate_catalogues(keys, verdicts, run: RunValidation, run_name: str) -> None:
    """The catalogue suite over every catalogue of the run; a passing one is published to validated/."""
    tables = [read_parquet(_catalogue_path(*key)) for key in keys]
    for part in chunks([t.num_rows for t in tables], chunk_rows()):
        table = pa.concat_tables([tables[i] for i in part])
        outcome = validate_frame(table.to_pandas(), "procedure_catalogue", key_column="procedure_code",
                                 run_name=run_name)
        run.outcomes.setdefault("procedure_catalogue", []).append(outcome)
        offsets = _offsets([tables[i].num_rows for i in part])
        for n, i in enumerate(part):
            key = keys[i]
            judged = verdict(outcome.part(offsets[n], offsets[n + 1]))
            verdicts[key].verdicts["procedure_catalogue"] = judged
            validated = paths.validated_procedures_file(*key)
            if judged.blocked:
                validated.unlink(missing_ok=True)
            else:
                publish_by_link(_catalogue_path(*key), validated)


def _validate_dossiers(keys, verdicts, run: RunValidation, run_name: str) -> None:
    """The three dossier suites over the run's landed agency-days, then each one judged and published."""
    manifests = [read_parquet(_manifest_path(*key)) for key in keys]
    sizes = [m.column("landed")[0].as_py() for m in manifests]
    share = block_share()
    for part in chunks(sizes, chunk_rows()):
        part_keys = [keys[i] for i in part]
        offsets = _offsets([sizes[i] for i in part])
        frame = read_for_suite([_landed_path(*key) for key in part_keys], "raw_dossiers")
        rows = validate_frame(frame, "raw_dossiers", run_name=run_name)
        manifest_frame = with_accounted_total(pa.concat_tables([manifests[i] for i in part]).to_pandas())
        partition = validate_frame(manifest_frame, "raw_dossier_partitions", key_column="agency_code",
                                   run_name=run_name)
        volume_frame, with_bounds = _volume_frame(part_keys, [sizes[i] for i in part])
        volume = (validate_frame(volume_frame, "raw_dossiers_volume", key_column="agency_code", run_name=run_name)
                  if with_bounds else None)
        for suite, outcome in (("raw_dossiers", rows), ("raw_dossier_partitions", partition),
                               ("raw_dossiers_volume", volume)):
            if outcome is not None:
                run.outcomes.setdefault(suite, []).append(outcome)
        for n, key in enumerate(part_keys):
            item = verdicts[key]
            mine = rows.part(offsets[n], offsets[n + 1])
            split = split_rows(_landed_path(*key), mine.failures, *key)
            item.quarantined = split.removed
            item.verdicts["raw_dossiers"] = verdict(mine, split.removed, share)
            item.verdicts["raw_dossier_partitions"] = verdict(partition.part(n, n + 1))
            if volume is not None and volume_frame["volume_min"].notna().iloc[n]:
                item.verdicts["raw_dossiers_volume"] = verdict(volume.part(n, n + 1))
            blocked = item.verdicts["raw_dossiers"].blocked or item.verdicts["raw_dossier_partitions"].blocked
            landed_sha = manifests[part[n]].column("content_sha256")[0].as_py()
            write_validation_quarantine(split.quarantine, paths.validation_quarantine_file(*key), landed_sha, blocked)
            _publish(item)


def _volume_frame(keys, sizes: list[int]):
    """One row per agency-day: its rows and the bounds from the same weekdays before (NaN without enough)."""
    import pandas as pd

    records = []
    histories = volume_histories(paths.validated_partitions_root(), keys, paths.PARTITION_FILE)
    for (agency_code, day), size, history in zip(keys, sizes, histories):
        bounds = volume_bounds(history)
        records.append({"agency_code": agency_code, "day": day, "rows": size,
                        "volume_min": bounds.low if bounds else None, "volume_max": bounds.high if bounds else None})
    frame = pd.DataFrame.from_records(records).astype({"volume_min": "float64", "volume_max": "float64"})
    return frame, bool(frame["volume_min"].notna().any())


def _publish(item: AgencyDayVerdict) -> None:
    """The gate: publish the agency-day to dbt when its blocking checks and its catalogue passed."""
    blocking = [suite for suite, v in item.verdicts.items() if v.blocked]
    if blocking:
        item.reason = f"BLOCKED by {', '.join(blocking)}; kept out of the KPIs until it is re-ingested and passes ({DOCS})"
        return
    if "procedure_catalogue" not in item.verdicts:
        item.reason = "its procedure catalogue was not pulled, so its dossiers are not published; re-run the agency-day"
        return
    try:
        publish_validated(item.agency_code, item.day)
    except GateError as error:
        item.reason = str(error)
        return
    item.published = True


def publish_validated(agency_code: str, day: date) -> dict:
    """Publish a judged landing to validated/: by hard link when nothing was quarantined, else
    filtered; the manifest counts what was removed. Returns the published counts."""
    where = f"agency {agency_code}, day {day}"
    landed_path = _landed_path(agency_code, day)
    manifest_path = landed_path.with_name(paths.PARTITION_FILE)
    manifest = read_parquet(manifest_path)
    counts = manifest.to_pylist()[0]
    judged = read_validation_quarantine(paths.validation_quarantine_file(agency_code, day))
    if judged is None or judged.landed_sha256 != counts["content_sha256"]:
        raise GateError(f"{where}: this landing has not been through its checks; re-run the agency-day (ingest_job).")
    if judged.blocked:
        raise GateError(f"{where}: a blocking check failed on this landing, so it is not published ({DOCS}).")
    if not paths.validated_procedures_file(agency_code, day).exists():
        raise GateError(f"{where}: the procedure catalogue of this agency-day has not passed its check "
                        f"(procedure_catalogue_expectations), so its dossiers are not published ({DOCS}).")
    removed = judged.table.num_rows
    dossiers_target = partition_path(paths.validated_dossiers_root(), day, agency_code, paths.DOSSIERS_FILE)
    manifest_target = partition_path(paths.validated_partitions_root(), day, agency_code, paths.PARTITION_FILE)
    if removed == 0:
        published = manifest
        publish_by_link(landed_path, dossiers_target)
    else:
        kept = without_quarantined(read_parquet(landed_path), judged.table)
        if kept.num_rows != counts["landed"] - removed:
            raise GateError(f"{where}: {removed} rows are in the validation quarantine but "
                            f"{counts['landed'] - kept.num_rows} matched the landing; nothing was published. "
                            "Re-run the agency-day.")
        write_table_atomic(kept, dossiers_target)
        published = published_manifest(manifest, removed, sha256_of(dossiers_target))
    counts = published.to_pylist()[0]
    if not reconciles(counts):
        dossiers_target.unlink(missing_ok=True)
        raise GateError(f"{where}: the source reported {counts['source_total']} records but validated/ and quarantine "
                        f"hold {counts['landed']} + {counts['quarantined']} - {counts['duplicates']} duplicates; "
                        "nothing was published. Re-ingest the agency-day; if it persists, report it as a bug.")
    if removed == 0:
        publish_by_link(manifest_path, manifest_target)
    else:
        write_table_atomic(published, manifest_target)
    return counts

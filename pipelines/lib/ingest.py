"""Ingest one agency-day: fetch every page, parse, land, quarantine, reconcile.

Every record the source returned ends up in exactly one of two files for the partition:
the landed dossier versions or the quarantine (with a reason). The source's own total must
equal the distinct records received, or the partition fails naming agency, day and counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pyarrow as pa

from pipelines.lib.agency_api import AgencyApiClient, FetchStats
from pipelines.lib.landing import parquet_sink, partition_path, remove_stale_temporaries, sha256_of, write_parquet_atomic
from pipelines.lib.paths import DOSSIERS_FILE, PARTITION_FILE, QUARANTINE_FILE
from pipelines.lib.columnar import page_drift, parse_page
from pipelines.lib.payload import DOSSIER_SCHEMA, QUARANTINE_SCHEMA, quarantine_rows


# One row per landed agency-day: what the source said and where each record went.
PARTITION_SCHEMA = pa.schema(
    [
        ("agency_code", pa.string()),
        ("day", pa.date32()),
        ("source_total", pa.int64()),
        ("received", pa.int64()),
        ("landed", pa.int64()),
        ("quarantined", pa.int64()),
        ("duplicates", pa.int64()),
        # The landed file's SHA-256: how dbt's incremental models see that a partition changed.
        ("content_sha256", pa.string()),
        # Schema drift seen in the window (JSON lists of field names): checked, blocking.
        ("unknown_fields", pa.string()),
        ("missing_fields", pa.string()),
    ]
)


class ReconciliationError(RuntimeError):
    pass


@dataclass
class IngestResult:
    agency_code: str
    day: date
    source_total: int
    received: int
    landed: int
    quarantined: int
    duplicates: int
    unknown_fields: list[str]
    missing_fields: list[str]
    landed_path: Path
    quarantine_path: Path
    landed_bytes: int
    stats: FetchStats

    def partition_row(self) -> dict:
        return {
            "agency_code": self.agency_code,
            "day": self.day,
            "source_total": self.source_total,
            "received": self.received,
            "landed": self.landed,
            "quarantined": self.quarantined,
            "duplicates": self.duplicates,
            "content_sha256": sha256_of(self.landed_path),
            "unknown_fields": json.dumps(self.unknown_fields),
            "missing_fields": json.dumps(self.missing_fields),
        }

    def metadata(self) -> dict:
        return {
            "source_total": self.source_total,
            "received": self.received,
            "rows": self.landed,
            "quarantined": self.quarantined,
            "duplicates": self.duplicates,
            "unknown_fields": ", ".join(self.unknown_fields) or "none",
            "missing_fields": ", ".join(self.missing_fields) or "none",
            "pages": self.stats.pages,
            "retries": self.stats.retries,
            "bytes_received": self.stats.bytes,
            "bytes_landed": self.landed_bytes,
            "fetch_seconds": round(self.stats.seconds, 3),
            "path": str(self.landed_path),
        }


def day_window(day: date) -> tuple[datetime, datetime]:
    """The partition's window in local time (Asia/Ho_Chi_Minh): [00:00, next day 00:00)."""
    start = datetime.combine(day, time.min)
    return start, start + timedelta(days=1)


def ingest_dossiers(
    client: AgencyApiClient,
    agency_code: str,
    day: date,
    hash_key: bytes,
    raw_root: Path,
    quarantine_root: Path,
) -> IngestResult:
    stats = FetchStats()
    quarantine_path = partition_path(quarantine_root, day, agency_code, QUARANTINE_FILE)
    landed_path = partition_path(raw_root, day, agency_code, DOSSIERS_FILE)
    for folder in (quarantine_path.parent, landed_path.parent):
        remove_stale_temporaries(folder)
    start, end = day_window(day)
    totals: set[int] = set()
    seen: set = set()
    received = quarantined = duplicates = 0
    unknown_fields: set[str] = set()
    missing_fields: set[str] = set()
    # Page by page: parsed, written, forgotten; only the (dossier, version) keys stay, for the
    # duplicate check. Rows land in the source's order (by update time, then dossier code).
    with parquet_sink(quarantine_path, QUARANTINE_SCHEMA) as rejects, parquet_sink(landed_path, DOSSIER_SCHEMA) as landed:
        for page in client.dossier_pages(agency_code, start, end, stats):
            totals.add(page.total)
            received += len(page.records)
            rows, rejected = parse_page(page.records, agency_code, day, hash_key, seen)
            unknown, missing = page_drift(page.records)
            unknown_fields.update(unknown)
            missing_fields.update(missing)
            duplicates += sum(r.reason.startswith("duplicate") for r in rejected)
            quarantined += len(rejected)
            landed.append(rows)
            rejects.append(pa.Table.from_pylist(quarantine_rows(rejected, agency_code, day, "parse"), QUARANTINE_SCHEMA))
        source_total = _reconcile(agency_code, day, totals, received, duplicates)
    landed_bytes = landed_path.stat().st_size
    result = IngestResult(
        agency_code=agency_code,
        day=day,
        source_total=source_total,
        received=received,
        landed=landed.rows,
        quarantined=quarantined,
        duplicates=duplicates,
        unknown_fields=sorted(unknown_fields),
        missing_fields=sorted(missing_fields),
        landed_path=landed_path,
        quarantine_path=quarantine_path,
        landed_bytes=landed_bytes,
        stats=stats,
    )
    write_parquet_atomic([result.partition_row()], PARTITION_SCHEMA, landed_path.with_name(PARTITION_FILE))
    return result


def _reconcile(agency_code: str, day: date, totals: set[int], received: int, duplicates: int) -> int:
    """The source's total, which must be the same on every page and equal the distinct records sent."""
    if len(totals) > 1:
        raise ReconciliationError(
            f"agency {agency_code}, day {day}: the source reported different totals across pages: {sorted(totals)}; "
            "the window changed while it was read; rerun the partition."
        )
    source_total = next(iter(totals), 0)
    if received - duplicates != source_total:
        raise ReconciliationError(
            f"agency {agency_code}, day {day}: the source reported {source_total} records for the window "
            f"but sent {received - duplicates} distinct ones ({received} received, {duplicates} duplicates); "
            "nothing was landed. Rerun the partition; if it persists, raise it with the agency."
        )
    return source_total

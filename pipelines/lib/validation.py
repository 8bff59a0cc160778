"""What a validation outcome decides, as pure functions (no Great Expectations, no Dagster).

- Row-level failures ("quarantine" expectations) take the failing dossier versions out of the
  agency-day into quarantine, stage "validation", with the expectation and the offending value;
  the agency-day is blocked only when they are more than an allowed share of its rows.
- Partition-level failures ("block") keep the whole agency-day out of the KPIs.
- A volume anomaly compares the day's rows with the same weekday of the previous weeks.
- What was quarantined is left out of what dbt reads, and the published manifest counts it, so
  that every record the source sent is in validated/ or in quarantine exactly once.
"""

from __future__ import annotations

import json
import math
import os
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from pipelines.lib.expectations import Failure, SuiteResult
from pipelines.lib.landing import partition_path, read_parquet, write_table_atomic
from pipelines.lib.payload import QUARANTINE_SCHEMA, Rejected, quarantine_rows

STAGE = "validation"
BLOCK_SHARE_ENV = "EGOV_QUARANTINE_BLOCK_SHARE"
DEFAULT_BLOCK_SHARE = 0.05
# Volume anomaly: the same weekday over the previous VOLUME_WEEKS weeks, at least
# VOLUME_MIN_WEEKS of them validated; bounds median ± max(k·σ from the MAD, a share of the
# median, an absolute floor), so that a quiet series does not flag ordinary noise.
VOLUME_WEEKS = 8
VOLUME_MIN_WEEKS = 4
VOLUME_MAD_K = 5.0
VOLUME_RELATIVE = 0.5
VOLUME_FLOOR = 10
# Written into the validation quarantine file: which landing it judged, and the verdict, so the
# gate never publishes a landing its checks did not pass.
LANDED_SHA_KEY = b"egov.landed_sha256"
VERDICT_KEY = b"egov.verdict"


def block_share() -> float:
    """The share of an agency-day's rows that may be quarantined before it is blocked."""
    text = os.environ.get(BLOCK_SHARE_ENV, "")
    if not text:
        return DEFAULT_BLOCK_SHARE
    try:
        share = float(text)
    except ValueError:
        share = -1.0
    if not 0 <= share <= 1:
        raise ValueError(f"{BLOCK_SHARE_ENV}={text!r}: set a share between 0 and 1, e.g. 0.05, or unset it")
    return share


def too_many_quarantined(removed: int, rows: int, share: float) -> bool:
    """More than `share` of the rows, and never on a single bad record alone."""
    return removed > max(1, share * rows)


@dataclass
class Verdict:
    lines: list[str]
    blocked: bool

    @property
    def failed(self) -> bool:
        return bool(self.lines)

    def markdown(self) -> str:
        return "\n".join(self.lines) or "none"


def verdict(outcome: SuiteResult, removed: int = 0, share: float = DEFAULT_BLOCK_SHARE) -> Verdict:
    """One markdown line per failed expectation (`- BLOCKING: …`, `- quarantined: …`, `- warning: …`)."""
    lines = [f"- BLOCKING: {f.describe()}" for f in outcome.blocking_failures]
    over = too_many_quarantined(removed, outcome.rows, share)
    if over:
        lines.append(
            f"- BLOCKING: {removed} of {outcome.rows} rows ({removed / outcome.rows:.1%}) failed row-level "
            f"expectations, more than the {share * 100:g}% allowed ({BLOCK_SHARE_ENV})"
        )
    lines += [f"- quarantined: {f.describe()}" for f in outcome.by_action("quarantine")]
    lines += [f"- warning: {f.describe()}" for f in outcome.warnings]
    return Verdict(lines=lines, blocked=bool(outcome.blocking_failures) or over)


@dataclass
class RowSplit:
    positions: list[int]
    quarantine: list[dict]

    @property
    def removed(self) -> int:
        return len(self.positions)


def split_rows(landed: pa.Table | Path, failures: Sequence[Failure], agency_code: str, day: date) -> RowSplit:
    """The rows that failed a row-level expectation, as quarantine rows, one per dossier version.

    A version failing several expectations is quarantined once, with every reason. `landed`
    may be the file: it is then read only when some row failed.
    """
    reasons: dict[int, list[str]] = defaultdict(list)
    for failure in failures:
        if failure.on_failure != "quarantine":
            continue
        for row, value in zip(failure.rows, failure.values):
            reasons[row].append(f"{failure.name}: {value}" if value else failure.name)
    positions = sorted(reasons)
    table = read_parquet(landed) if positions and isinstance(landed, Path) else landed
    records = table.take(positions).to_pylist() if positions else []
    rejected = [Rejected(rec["dossier_code"], "; ".join(reasons[p]), rec) for p, rec in zip(positions, records)]
    return RowSplit(positions=positions, quarantine=quarantine_rows(rejected, agency_code, day, STAGE))


def write_validation_quarantine(rows: list[dict], path: Path, landed_sha256: str, blocked: bool) -> int:
    schema = QUARANTINE_SCHEMA.with_metadata({LANDED_SHA_KEY: landed_sha256, VERDICT_KEY: "blocked" if blocked else "passed"})
    return write_table_atomic(pa.Table.from_pylist(rows, schema=schema), path)


@dataclass
class ValidationQuarantine:
    table: pa.Table
    landed_sha256: str | None
    blocked: bool


def read_validation_quarantine(path: Path) -> ValidationQuarantine | None:
    if not path.exists():
        return None
    table = read_parquet(path)
    meta = table.schema.metadata or {}
    landed = meta.get(LANDED_SHA_KEY)
    return ValidationQuarantine(
        table=table,
        landed_sha256=landed.decode() if landed else None,
        blocked=meta.get(VERDICT_KEY) != b"passed",
    )


def _version_keys(dossier_codes: pa.Array, updated_at: pa.Array) -> pa.Array:
    seconds = pc.cast(pc.cast(updated_at, pa.timestamp("s")), pa.int64())
    return pc.binary_join_element_wise(pc.fill_null(dossier_codes, ""), pc.cast(seconds, pa.string()), "|")


def without_quarantined(landed: pa.Table, quarantine: pa.Table) -> pa.Table:
    """The landed rows minus the dossier versions in the validation quarantine, order kept."""
    records = [json.loads(r) for r in quarantine.column("record").to_pylist()]
    codes = pa.array([r["dossier_code"] for r in records], pa.string())
    stamps = pa.array(
        [datetime.fromisoformat(r["updated_at"]).replace(tzinfo=timezone.utc) for r in records], pa.timestamp("s", "UTC")
    )
    out = _version_keys(codes, pc.cast(stamps, pa.timestamp("s")))
    mask = pc.invert(pc.is_in(_version_keys(landed.column("dossier_code"), landed.column("updated_at")), value_set=out))
    return landed.filter(mask)


def with_accounted_total(manifest):
    """The manifest frame with `accounted_total` = landed + quarantined − duplicates (one per distinct record)."""
    return manifest.assign(accounted_total=manifest["landed"] + manifest["quarantined"] - manifest["duplicates"])


def published_manifest(manifest: pa.Table, removed: int, content_sha256: str) -> pa.Table:
    """The validated agency-day's manifest: `removed` rows moved from landed to quarantined."""
    row = manifest.to_pylist()[0]
    row.update(landed=row["landed"] - removed, quarantined=row["quarantined"] + removed, content_sha256=content_sha256)
    return pa.Table.from_pylist([row], schema=manifest.schema)


def reconciles(row: dict) -> bool:
    return row["source_total"] == row["landed"] + row["quarantined"] - row["duplicates"]


@dataclass(frozen=True)
class VolumeBounds:
    low: int
    high: int
    median: float
    weeks: int


def same_weekdays(day: date, weeks: int = VOLUME_WEEKS) -> list[date]:
    return [day - timedelta(weeks=n) for n in range(1, weeks + 1)]


def volume_histories(partitions_root: Path, keys: Sequence[tuple[str, date]], file_name: str) -> list[list[int]]:
    """For each agency-day of `keys`, the source's totals on the same weekday of the previous
    weeks, where they were validated: one read of every manifest a run needs (a run has
    thousands of agency-days, each with up to VOLUME_WEEKS manifests behind it)."""
    earlier = {(code, before) for code, day in keys for before in same_weekdays(day)}
    files = [path for code, before in sorted(earlier)
             if (path := partition_path(partitions_root, before, code, file_name)).exists()]
    totals = {}
    if files:
        table = ds.dataset(files, format="parquet").to_table(columns=["agency_code", "day", "source_total"])
        totals = dict(zip(zip(table.column("agency_code").to_pylist(), table.column("day").to_pylist()),
                          table.column("source_total").to_pylist()))
    return [[totals[code, before] for before in same_weekdays(day) if (code, before) in totals] for code, day in keys]


def volume_bounds(history: Sequence[int]) -> VolumeBounds | None:
    """Bounds for the row count from earlier totals; None until there is enough history."""
    if len(history) < VOLUME_MIN_WEEKS:
        return None
    median = statistics.median(history)
    sigma = 1.4826 * statistics.median(abs(x - median) for x in history)
    half_width = max(VOLUME_MAD_K * sigma, VOLUME_RELATIVE * median, VOLUME_FLOOR)
    return VolumeBounds(
        low=max(0, math.floor(median - half_width)), high=math.ceil(median + half_width), median=median, weeks=len(history)
    )

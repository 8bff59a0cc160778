"""Publish a release of the open data: read, protect, compare, write, check, then switch.

    releases/<version>/   immutable: every table in four formats, datapackage.json,
                          dcat.jsonld, CHANGELOG.md, SHA256SUMS
    releases.json         the index: versions, dates, status (current, superseded, withdrawn)
    latest -> releases/<version>   switched by one rename, after every check passed

Running it again on the same warehouse makes no new release.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.lib.landing import sha256_of
from pipelines.lib.release import changelog, checksums, companions, datapackage, dcat, metadata, revisions, versioning
from pipelines.lib.release.completeness import flag_incomplete_history
from pipelines.lib.release.formats import FORMATS, PARQUET, to_arrow, write_formats
from pipelines.lib.release.suppression import STATUS_LABELS, suppress, threshold_from_env
from pipelines.lib.release.tables import Table, data_as_of, load_tables, period_covered, to_frame
from pipelines.settings import TIMEZONE

CHANGELOG_FILE = "CHANGELOG.md"
# The suppression's answers kept for the next release (memo.py), beside the publishing lock.
SUPPRESSION_MEMO = ".suppression-memo.parquet"


class ReleaseCheckFailed(RuntimeError):
    pass


@dataclass
class Outcome:
    version: str | None  # the current release after this call
    created: bool
    level: str | None
    folder: Path | None
    rows: dict[str, int]


@dataclass
class Candidate:
    """The tables as they would be published, with the figures that describe them."""

    tables: list[Table]
    period: tuple[date, date]
    data_as_of: datetime
    docs: dict


def read_candidate(warehouse: Path, manifest_path: Path, threshold: int, memo_file: Path | None = None) -> Candidate:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = load_tables(con, manifest_path)
        as_of = data_as_of(con)
        covered = period_covered(con)
    kpis = {t.name: t.frame for t in tables if t.kind == "kpi"}
    if not kpis:
        raise ReleaseCheckFailed(f"no kpi_* table in {warehouse}: run the dbt models first")
    protected = suppress(kpis, {t.name: t.primary_key for t in tables}, threshold, lineage(tables), memo_file)
    for table in tables:
        table.frame = flag_incomplete_history(protected[table.name]) if table.name in protected else table.frame
    days = [d for t in tables if t.kind == "kpi" for c in t.primary_key
            if pa.types.is_date(t.arrow_schema.field(c).type) for d in t.frame[c].dropna()]
    period = covered or (min(days), max(days))
    docs = {t.name: {"description": t.description, "columns": t.column_docs} for t in tables}
    return Candidate(tables, period, as_of or datetime.combine(period[1] + timedelta(days=1), datetime.min.time(), TIMEZONE), docs)


def lineage(tables: list[Table]) -> dict[str, str]:
    """Agency code → its code "as is" today, from the agencies code list."""
    agencies = next((t.frame for t in tables if t.name == "agencies"), None)
    if agencies is None:
        return {}
    if "as_is_agency_code" in agencies:
        return dict(zip(agencies["agency_code"], agencies["as_is_agency_code"].fillna(agencies["agency_code"])))
    successor = dict(zip(agencies["agency_code"], agencies["successor_code"])) if "successor_code" in agencies else {}
    result = {}
    for code in successor:
        seen, current = {code}, code
        while pd.notna(successor.get(current)) and successor[current] not in seen:
            current = successor[current]
            seen.add(current)
        result[code] = current
    return result


def previous_tables(folder: Path | None) -> dict[str, pa.Table]:
    """The tables of a release, read back from its Parquet files."""
    if folder is None:
        return {}
    return {p.name.removesuffix(PARQUET.suffix): pq.read_table(p) for p in folder.glob(f"*{PARQUET.suffix}")}


def signature(schema: pa.Schema) -> list[tuple[str, str]]:
    """Columns and types, revision flags aside: what a major version protects."""
    return [(f.name, str(f.type)) for f in schema if f.name not in revisions.FLAG_COLUMNS]


def compare(candidate: Candidate, old: dict[str, pa.Table], old_package: dict | None) -> tuple[versioning.Change, list[changelog.TableChange], dict[str, pd.DataFrame]]:
    """What changed since the previous release, and each table with its revision flags."""
    flagged, changes = {}, []
    schema_changed = old_package is None or {t.name for t in candidate.tables} != set(old)
    figures = False
    for table in candidate.tables:
        old_table = old.get(table.name)
        previous = revisions.content(to_frame(old_table)) if old_table is not None else None
        flagged[table.name] = revisions.flag(table.frame, previous, table.primary_key)
        change = changelog.TableChange(table.name, new_table=previous is None)
        if previous is None:
            change.added_rows = len(table.frame)
            changes.append(change)
            continue
        change.added_columns = [c for c in table.frame.columns if c not in previous.columns]
        change.removed_columns = [c for c in previous.columns if c not in table.frame.columns]
        new_signature = signature(to_arrow(table.frame, table.arrow_schema).schema)
        schema_changed |= new_signature != signature(old_table.schema)
        key = table.primary_key
        new_keys = pd.MultiIndex.from_frame(table.frame[key].astype("string"))
        old_keys = pd.MultiIndex.from_frame(previous[key].astype("string")) if all(k in previous for k in key) else new_keys[:0]
        change.added_rows = int((~new_keys.isin(old_keys)).sum())
        change.removed_rows = int((~old_keys.isin(new_keys)).sum())
        revised = flagged[table.name][revisions.REVISED].fillna(False).astype(bool)
        change.revised_rows = int(revised.sum())
        change.revised_columns = {c for cols in flagged[table.name].loc[revised, revisions.REVISED_COLUMNS] for c in cols.split(";")}
        figures |= bool(change.added_rows or change.removed_rows or change.revised_rows)
        changes.append(change)
    new_names = {t.name for t in candidate.tables}
    changes += [changelog.TableChange(name, dropped_table=True) for name in old if name not in new_names]
    period_extended = old_package is not None and (
        candidate.period[0].isoformat() < old_package["period"]["start"] or candidate.period[1].isoformat() > old_package["period"]["end"]
    )
    docs_changed = old_package is not None and old_package.get("docsFingerprint") != fingerprint(candidate.docs)
    return versioning.Change(schema_changed, period_extended, figures, docs_changed), changes, flagged


def fingerprint(docs: dict) -> str:
    """A digest of the tables' and columns' descriptions: a change to them is a patch."""
    return hashlib.sha256(json.dumps(docs, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def iso(moment: datetime) -> str:
    return moment.astimezone(TIMEZONE).isoformat(timespec="seconds")


@contextmanager
def publishing_lock(open_dir: Path):
    """One publisher at a time on a data directory."""
    open_dir.mkdir(parents=True, exist_ok=True)
    with open(open_dir / ".publish.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def publish_release(warehouse: Path, open_dir: Path, manifest_path: Path, *, now: datetime | None = None, threshold: int | None = None,
                    attachments: Callable[[Path], dict[str, str]] | None = None, closes: str | None = None) -> Outcome:
    """Publish the warehouse's KPI tables and code lists as a new release if anything changed.

    `attachments(folder)` gives more files for the release ({name: text}, e.g. freshness.json),
    written once its tables are in `folder` and covered by SHA256SUMS. `closes` ("YYYY-MM", from
    the monthly close) makes the release a minor one that closes that month, unless one already did."""
    now = now or datetime.now(TIMEZONE)
    threshold = threshold_from_env() if threshold is None else threshold
    candidate = read_candidate(warehouse, manifest_path, threshold, open_dir / SUPPRESSION_MEMO)
    with publishing_lock(open_dir):
        index = versioning.read_index(open_dir)
        current = versioning.current_version(index)
        current_folder = open_dir / versioning.RELEASES_DIR / current if current else None
        old_package = json.loads((current_folder / "datapackage.json").read_text(encoding="utf-8")) if current_folder else None
        change, changes, flagged = compare(candidate, previous_tables(current_folder), old_package)
        closes = closes if closes and closes not in versioning.closed_months(index) else None
        change = dataclasses.replace(change, period_closed=bool(closes))
        rows = {t.name: len(t.frame) for t in candidate.tables}
        if current and change.level is None:
            return Outcome(current, False, None, current_folder, rows)
        level = change.level or "major"
        version = versioning.bump(versioning.highest_version(index), level)
        staging = open_dir / versioning.RELEASES_DIR / f".staging-{version}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            dates = write_release(staging, version, current, level, candidate, flagged, changes, change.docs, threshold, now,
                                  attachments, closes)
            final = open_dir / versioning.RELEASES_DIR / version
            shutil.rmtree(final, ignore_errors=True)  # only ever a folder no index entry names
            os.replace(staging, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        versioning.switch_latest(open_dir, version)
        versioning.write_index(open_dir, versioning.add_release(index, {
            "version": version,
            "level": level,
            "published": dates["published"],
            "period": {"start": candidate.period[0].isoformat(), "end": candidate.period[1].isoformat()},
            "data_as_of": dates["data_as_of"],
            "next_expected_release": dates["next_expected_release"],
            "path": f"{versioning.RELEASES_DIR}/{version}/",
            "tables": [t.name for t in candidate.tables],
            **({"closes": closes} if closes else {}),
        }))
        return Outcome(version, True, level, final, rows)


def download(resource: dict, file_type: str) -> dict:
    """A file as the DCAT catalogue lists it, from its Frictionless resource."""
    return {
        "name": resource["path"], "title": resource["title"], "description": resource["description"],
        "mediatype": resource["mediatype"], "eu_file_type": file_type, "bytes": resource["bytes"],
        "sha256": resource["hash"].removeprefix("sha256:"),
    }


def write_release(folder: Path, version: str, previous: str | None, level: str, candidate: Candidate,
                  flagged: dict[str, pd.DataFrame], changes, docs_changed: bool, threshold: int, now: datetime,
                  attachments: Callable[[Path], dict[str, str]] | None = None, closes: str | None = None) -> dict:
    """Write every file of the release into `folder`, then check it; raises if a check fails."""
    from pipelines.lib.release.checks import check_release

    dates = {
        "period_start": candidate.period[0],
        "period_end": candidate.period[1],
        "data_as_of": iso(candidate.data_as_of),
        "published": iso(now),
        "metadata_modified": iso(now),
        "next_expected_release": (candidate.data_as_of + timedelta(days=1)).date().isoformat(),
    }
    names = {t.name for t in candidate.tables}
    resources, files, exported = [], [], {}
    for table in candidate.tables:
        arrow = to_arrow(flagged[table.name], table.arrow_schema)
        paths = write_formats(arrow, folder, table.name)
        exported[table.name] = (arrow, paths[PARQUET])
        schema = datapackage.table_schema(arrow.schema, table.column_docs, table.primary_key, table.name, names)
        for fmt in FORMATS:
            resources.append(datapackage.resource(table.name, fmt, paths[fmt], schema, table.description, arrow.num_rows))
            files.append(download(resources[-1], fmt.eu_file_type))
    frames = {t.name: flagged[t.name] for t in candidate.tables}
    kinds = {t.name: t.kind for t in candidate.tables}
    keyed = {name: (arrow, next(t.primary_key for t in candidate.tables if t.name == name)) for name, (arrow, _) in exported.items()}
    for companion in companions.write_companions(folder, keyed, frames, kinds):
        resources.append(datapackage.file_resource(companion, folder / companion.name))
        files.append(download(resources[-1], companion.eu_file_type))
    for name, text in (attachments(folder) if attachments else {}).items():
        (folder / name).write_text(text, encoding="utf-8")
    extra = {
        "period": {"start": dates["period_start"].isoformat(), "end": dates["period_end"].isoformat()},
        "dataAsOf": dates["data_as_of"],
        "published": dates["published"],
        "metadataModified": dates["metadata_modified"],
        "updateFrequency": metadata.ACCRUAL["frictionless"],
        "nextExpectedRelease": dates["next_expected_release"],
        "suppression": {"threshold": threshold, "statusCodes": {c: {"vi": vi, "en": en} for c, (vi, en) in STATUS_LABELS.items()}},
        "tables": [{"name": t.name, "kind": t.kind, "primaryKey": t.primary_key} for t in candidate.tables],
        "docsFingerprint": fingerprint(candidate.docs),
        "dataService": metadata.data_service(version),
    }
    package = datapackage.descriptor(version, resources, {"published": dates["published"]}, extra)
    package_file = folder / "datapackage.json"
    package_file.write_text(json.dumps(package, ensure_ascii=False, indent=2), encoding="utf-8")
    files.append({"name": package_file.name, "title": "datapackage.json (Frictionless Data Package v2)", "description": "",
                  "mediatype": "application/json", "eu_file_type": "JSON", "bytes": package_file.stat().st_size, "sha256": sha256_of(package_file)})
    (folder / "dcat.jsonld").write_text(dcat.to_jsonld(dcat.catalogue(version, previous, dates, files)), encoding="utf-8")
    previous_log = None
    if previous:
        log = folder.parent / previous / CHANGELOG_FILE
        previous_log = log.read_text(encoding="utf-8") if log.exists() else None
    entry = changelog.entry(version, level, dates["published"], (dates["period_start"].isoformat(), dates["period_end"].isoformat()),
                            dates["data_as_of"], changes, docs_changed, closes)
    (folder / CHANGELOG_FILE).write_text(changelog.changelog(entry, previous_log), encoding="utf-8")
    checksums.write_sums(folder, {f["name"]: f["sha256"] for f in files})
    problems = check_release(folder, exported, folder.parent / previous if previous else None)
    if problems:
        raise ReleaseCheckFailed(f"release {version} not published, {len(problems)} problem(s): " + "; ".join(problems[:20]))
    return dates

"""Release numbers, the release index (`releases.json`) and the `latest` switch.

Semantic versioning decided by comparing the candidate with the current release:
major when the set of tables or any table's columns or types change, minor when the period
covered grows or a month is closed (the monthly close: its figures are final), patch when figures or documentation already published change, and no release
at all when nothing changed. Numbers are never reused, even after a withdrawal.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from pipelines.lib.landing import write_bytes_atomic

INDEX_FILE = "releases.json"
RELEASES_DIR = "releases"
LATEST = "latest"
CURRENT, SUPERSEDED, WITHDRAWN = "current", "superseded", "withdrawn"


@dataclass(frozen=True)
class Change:
    """What differs between the candidate and the current release."""

    schema: bool
    period_extended: bool
    figures: bool
    docs: bool
    period_closed: bool = False

    @property
    def level(self) -> str | None:
        if self.schema:
            return "major"
        if self.period_extended or self.period_closed:
            return "minor"
        if self.figures or self.docs:
            return "patch"
        return None


def parse(version: str) -> tuple[int, int, int]:
    major, minor, patch = (int(p) for p in version.split("."))
    return major, minor, patch


def bump(highest: str | None, level: str) -> str:
    if highest is None:
        return "1.0.0"
    major, minor, patch = parse(highest)
    if level == "major":
        return f"{major + 1}.0.0"
    if level == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def read_index(open_dir: Path) -> dict:
    path = open_dir / INDEX_FILE
    if not path.exists():
        return {"releases": []}
    return json.loads(path.read_text(encoding="utf-8"))


def current_version(index: dict) -> str | None:
    return next((r["version"] for r in index["releases"] if r["status"] == CURRENT), None)


def closed_months(index: dict) -> set[str]:
    """The months ("YYYY-MM") a release has closed."""
    return {r["closes"] for r in index["releases"] if r.get("closes")}


def highest_version(index: dict) -> str | None:
    versions = [r["version"] for r in index["releases"]]
    return max(versions, key=parse) if versions else None


def write_index(open_dir: Path, index: dict) -> None:
    index["releases"].sort(key=lambda r: parse(r["version"]), reverse=True)
    index["current"] = current_version(index)
    write_bytes_atomic(json.dumps(index, ensure_ascii=False, indent=2).encode("utf-8"), open_dir / INDEX_FILE)


def add_release(index: dict, entry: dict) -> dict:
    """`entry` becomes current; the release it replaces is superseded, withdrawn ones stay so."""
    for release in index["releases"]:
        if release["status"] == CURRENT:
            release["status"] = SUPERSEDED
    index["releases"].append({**entry, "status": CURRENT})
    return index


def switch_latest(open_dir: Path, version: str) -> None:
    """Point `latest` at a release with one rename: readers see the old or the new, never a mix."""
    temporary = open_dir / f".{LATEST}-{os.getpid()}"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(Path(RELEASES_DIR) / version, target_is_directory=True)
    os.replace(temporary, open_dir / LATEST)


def withdraw(open_dir: Path, version: str, reason: str, when: str) -> str | None:
    """Mark a release withdrawn; if it was current, the newest remaining release becomes current.
    Returns the version `latest` now points at (None when no release remains)."""
    index = read_index(open_dir)
    release = next((r for r in index["releases"] if r["version"] == version), None)
    if release is None:
        raise ValueError(f"no release {version} in {open_dir / INDEX_FILE}")
    was_current = release["status"] == CURRENT
    release.update(status=WITHDRAWN, withdrawn=when, withdrawal_reason=reason)
    if was_current:
        remaining = sorted((r for r in index["releases"] if r["status"] != WITHDRAWN), key=lambda r: parse(r["version"]))
        if remaining:
            remaining[-1]["status"] = CURRENT
            switch_latest(open_dir, remaining[-1]["version"])
        else:
            (open_dir / LATEST).unlink(missing_ok=True)
    write_index(open_dir, index)
    return current_version(index)

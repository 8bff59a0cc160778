"""Where each `dbt build` keeps its artifacts, and the parse state carried from one build to the next.

dagster-dbt gives every invocation a target folder of its own. Left to itself it puts them in
the repo's dbt_project/target/ (about 5 MB each, never removed) and seeds each one with the
partial-parse file of `make manifest`, which dbt throws away whenever the profile differs (the
warehouse path is part of it, so any other EGOV_DATA_DIR): a full parse of the project on
every build. Here the folders live in the data directory, the last builds are kept for
debugging, and each build starts from the parse state the previous one left for this warehouse.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from pipelines.lib.landing import atomic_path
from pipelines.settings import data_dir

PARSE_STATE = "partial_parse.msgpack"  # dbt's name for it
KEEP_BUILDS = 20


def dbt_dir() -> Path:
    """dbt's corner of the data directory: the parse state, and `builds/`."""
    return data_dir() / "dbt"


def builds_dir() -> Path:
    return dbt_dir() / "builds"


def build_dir(run_id: str) -> Path:
    """A build's target folder: its manifest, run_results.json and dbt.log."""
    return builds_dir() / run_id


def parse_state() -> Path:
    """The parse state the last build of this warehouse left for the next."""
    return dbt_dir() / PARSE_STATE


def reuse_parse_state(target: Path) -> None:
    """Start the build from the last build's parse state, if there is one."""
    if parse_state().exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(parse_state(), target / PARSE_STATE)


def keep_parse_state(target: Path) -> None:
    """Hand this build's parse state to the next one (atomically: two builds never see half a file)."""
    produced = target / PARSE_STATE
    if produced.exists():
        with atomic_path(parse_state()) as staging:
            shutil.copyfile(produced, staging)


def prune_builds(keep: int = KEEP_BUILDS) -> list[Path]:
    """Remove all but the `keep` newest build folders; returns those removed."""
    folders = sorted(builds_dir().glob("*"), key=lambda p: p.stat().st_mtime, reverse=True)
    for folder in folders[keep:]:
        shutil.rmtree(folder, ignore_errors=True)
    return folders[keep:]

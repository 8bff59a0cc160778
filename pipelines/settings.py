"""Where things live. One place, so every asset, test and script agrees on paths."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"
TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")
TIMEZONE_NAME = "Asia/Ho_Chi_Minh"
# The first day the daily partitions offer; the 63-province history starts before the 2025 merger.
PARTITIONS_START = "2024-01-01"


def data_dir() -> Path:
    """The data directory: `EGOV_DATA_DIR`, else `data/` at the repo root."""
    return _resolved(os.environ.get("EGOV_DATA_DIR") or str(REPO_ROOT / "data"))


@lru_cache(maxsize=16)
def _resolved(folder: str) -> Path:
    # Every path of every agency-day starts here: resolving it each time was a tenth of ingesting one.
    return Path(folder).resolve()


def warehouse_path() -> Path:
    return data_dir() / "warehouse" / "kpi.duckdb"


def open_data_dir() -> Path:
    return data_dir() / "open"

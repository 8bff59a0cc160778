"""The files a release ships beside its tables, each listed in datapackage.json and dcat.jsonld:

- `vn-egov-kpi.sqlite`: every table in one SQLite database, what the query API serves;
- `charts.json` and `map.json`: the catalogue page's small pre-aggregated chart and map data;
- `kpis.md`, `open-data.md` and `kpi_score_rules.csv`: the KPI definitions, the consumer's guide
  (API limits included) and the score rules the tables' descriptions refer to, as they were when
  the release was made.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from pipelines.lib.release.charts import build_charts
from pipelines.lib.release.database import DATABASE_FILE, write_database
from pipelines.lib.release.provinces_map import build_map
from pipelines.settings import DBT_PROJECT_DIR, REPO_ROOT


@dataclass(frozen=True)
class Companion:
    name: str  # the file name in the release, also its resource name
    title: str
    description: str
    format: str
    mediatype: str
    eu_file_type: str  # EU file-type authority code, for DCAT


DATABASE = Companion(DATABASE_FILE, "Cơ sở dữ liệu SQLite / SQLite database",
                     "Every table of this release in one SQLite database, as the query API (/api/) serves it.",
                     "sqlite", "application/vnd.sqlite3", "BIN")
CHARTS = Companion("charts.json", "Dữ liệu biểu đồ / Chart data",
                   "National rates per day (last 90 days) and per month, and the latest month per agency level: what the catalogue page draws.",
                   "json", "application/json", "JSON")
MAP = Companion("map.json", "Bản đồ tỉnh / Province map",
                "Province boundaries (63 before 1 July 2025, 34 since) as SVG paths, with the online-dossier and on-time rates of the latest month.",
                "json", "application/json", "JSON")
DOCS = {
    REPO_ROOT / "docs" / "kpis.md": Companion("kpis.md", "Định nghĩa chỉ số / KPI definitions",
                                              "What each KPI counts and how it is computed (Decision 766/QĐ-TTg).",
                                              "md", "text/markdown", "TXT"),
    REPO_ROOT / "docs" / "open-data.md": Companion("open-data.md", "Hướng dẫn sử dụng / Guide for data users",
                                                   "How to download, query (the API and its limits) and read the tables.",
                                                   "md", "text/markdown", "TXT"),
    DBT_PROJECT_DIR / "seeds" / "kpi_score_rules.csv": Companion("kpi_score_rules.csv", "Quy tắc chấm điểm / Score rules",
                                                                 "The thresholds and points behind kpi_scores.",
                                                                 "csv", "text/csv", "CSV"),
}


def write_companions(folder: Path, exported: dict[str, tuple[pa.Table, list[str]]], frames: dict[str, pd.DataFrame],
                     kinds: dict[str, str]) -> list[Companion]:
    """Write the companion files of a release into `folder`; returns what was written.

    `exported`: each table as published (Arrow) with its primary key; `frames`: the same as pandas;
    `kinds`: "kpi" or "code_list" per table."""
    write_database(exported, folder / DATABASE.name)
    written = [DATABASE]
    kpis = {name: frame for name, frame in frames.items() if kinds[name] == "kpi"}
    (folder / CHARTS.name).write_text(json.dumps(build_charts(kpis), ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    written.append(CHARTS)
    if "provinces" in frames:
        content = build_map(frames["provinces"], kpis)
        (folder / MAP.name).write_text(json.dumps(content, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        written.append(MAP)
    for source, companion in DOCS.items():
        shutil.copyfile(source, folder / companion.name)
        written.append(companion)
    return written

"""Great Expectations Data Docs in the data directory: the latest validation of each suite on
each partition, rendered by GX's own Data Docs renderer, with indexes to find them.

    quality/data_docs/index.html                                   every suite and its days
    quality/data_docs/expectations/<suite>.html                    what the suite asks
    quality/data_docs/validations/<suite>/date=D/index.html        that day's agencies, status
    quality/data_docs/validations/<suite>/date=D/agency=A/validation.html   latest validation
    quality/data_docs/validations/<suite>/date=D/agency=A/validation.json   its summary
    quality/data_docs/static/                                      GX's styles and images

The layout is GX's own (pages four folders below the site root, so its links resolve). Every
file is written atomically: agency-days validated in parallel never leave half a page.
"""

from __future__ import annotations

import html
import json
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from pipelines.lib import expectations
from pipelines.lib.landing import write_bytes_atomic
from pipelines.settings import EXPECTATIONS_DIR, data_dir

PAGE = "validation.html"
SUMMARY = "validation.json"
STATUSES = ("passed", "warning", "blocked")
# The top index lists this many of each suite's most recent days.
INDEX_DAYS = 120


def data_docs_dir() -> Path:
    return data_dir() / "quality" / "data_docs"


def partition_folders(agency_code: str, day) -> tuple[str, str]:
    return f"date={day.isoformat()}", f"agency={agency_code}"


def publish(outcome: expectations.SuiteResult, folders: tuple[str, str], status: str) -> Path:
    """Write the outcome's Data Docs page and refresh the indexes; returns the page's path."""
    if status not in STATUSES:
        raise ValueError(f"status {status!r} is not one of {STATUSES}")
    root = data_docs_dir()
    _ensure_site(root, outcome.suite)
    folder = root / "validations" / outcome.suite / folders[0] / folders[1]
    page = folder / PAGE
    write_bytes_atomic(expectations.render_validation_html(outcome).encode(), page)
    summary = {
        "suite": outcome.suite,
        "partition": list(folders),
        "status": status,
        "rows": outcome.rows,
        "evaluated": outcome.evaluated,
        "failed": [f.name for f in outcome.failures],
        "validated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    write_bytes_atomic(json.dumps(summary, ensure_ascii=False).encode(), folder / SUMMARY)
    _write_day_index(folder.parent, outcome.suite)
    _write_site_index(root)
    return page


def _ensure_site(root: Path, suite: str) -> None:
    """GX's static assets once, and the suite's own page whenever the suite changed."""
    static = root / "static"
    if not static.exists():
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=root, prefix=".static."))
        shutil.copytree(expectations.static_assets_dir(), staging, dirs_exist_ok=True)
        try:
            staging.rename(static)
        except OSError:  # another process got there first
            shutil.rmtree(staging, ignore_errors=True)
    suite_page = root / "expectations" / f"{suite}.html"
    suite_file = EXPECTATIONS_DIR / f"{suite}.json"
    if not suite_page.exists() or suite_page.stat().st_mtime < suite_file.stat().st_mtime:
        write_bytes_atomic(expectations.render_suite_html(suite).encode(), suite_page)


def _page(title: str, body: str) -> bytes:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title><style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
        ".blocked{background:#f8d7da}.warning{background:#fff3cd}.passed{background:#d4edda}"
        f"</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    ).encode()


def _write_day_index(day_folder: Path, suite: str) -> None:
    rows = []
    for summary_file in sorted(day_folder.glob(f"*/{SUMMARY}")):
        summary = json.loads(summary_file.read_text(encoding="utf-8"))
        name = summary_file.parent.name
        rows.append(
            f"<tr class={summary['status']}><td><a href='{html.escape(name)}/{PAGE}'>{html.escape(name)}</a></td>"
            f"<td>{summary['status']}</td><td>{summary['rows']}</td><td>{summary['evaluated']}</td>"
            f"<td>{html.escape('; '.join(summary['failed'])) or '&nbsp;'}</td><td>{summary['validated_at']}</td></tr>"
        )
    body = (
        f"<p><a href='../../../index.html'>all suites</a> · <a href='../../../expectations/{suite}.html'>the suite</a></p>"
        "<table><tr><th>partition</th><th>status</th><th>rows</th><th>expectations</th><th>failed</th>"
        f"<th>validated at (UTC)</th></tr>{''.join(rows)}</table>"
    )
    write_bytes_atomic(_page(f"{suite} · {day_folder.name}", body), day_folder / "index.html")


def _write_site_index(root: Path) -> None:
    sections = []
    for suite_folder in sorted(p for p in (root / "validations").iterdir() if p.is_dir()):
        suite = suite_folder.name
        days = sorted((p.name for p in suite_folder.iterdir() if p.is_dir()), reverse=True)[:INDEX_DAYS]
        links = " · ".join(f"<a href='validations/{suite}/{d}/index.html'>{html.escape(d)}</a>" for d in days)
        sections.append(
            f"<h2>{html.escape(suite)}</h2><p><a href='expectations/{suite}.html'>expectations</a></p><p>{links}</p>"
        )
    write_bytes_atomic(_page("Data quality: Great Expectations validations", "".join(sections)), root / "index.html")

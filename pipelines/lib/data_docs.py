"""Great Expectations Data Docs in the data directory, written once per validation run.

    quality/data_docs/index.html                                  the kept runs, newest first
    quality/data_docs/runs/<run>/index.html                       the run's agency-days, status per suite
    quality/data_docs/runs/<run>/<suite>/<chunk>/validation.html  GX's page of the suite on the run's rows
    quality/data_docs/expectations/<suite>.html                   what the suite asks
    quality/data_docs/static/                                     GX's styles and images

A run validates each suite once over all its agency-days, so it writes one GX page per suite
(per chunk, for runs validated in chunks), not one per agency-day. The last `KEEP_RUNS` runs
are kept. GX's pages sit four folders below the site root, where its links expect them.
Every file is written atomically.
"""

from __future__ import annotations

import html
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from pipelines.lib import expectations
from pipelines.lib.landing import write_bytes_atomic
from pipelines.settings import EXPECTATIONS_DIR, data_dir

PAGE = "validation.html"
URL_ENV = "EGOV_DATA_DOCS_URL"
KEEP_RUNS = 20
STATUS_CLASSES = {"validated": "passed", "quarantined rows": "warning", "blocked": "blocked", "not published": "blocked"}


def data_docs_dir() -> Path:
    return data_dir() / "quality" / "data_docs"


def page_url(path: Path) -> str:
    """A Data Docs page's link for the Dagster UI: over http where a server serves the Data Docs
    (`EGOV_DATA_DOCS_URL`, set by `make ui`), else a file:// URI."""
    base = os.environ.get(URL_ENV, "").rstrip("/")
    if base and path.is_relative_to(data_docs_dir()):
        return f"{base}/{path.relative_to(data_docs_dir()).as_posix()}"
    return path.as_uri()


def run_folder(run_id: str) -> Path:
    return data_docs_dir() / "runs" / run_id


def publish_run(run_id: str, outcomes: dict, agency_days: list, title: str) -> Path:
    """Write a run's pages (`outcomes`: suite → its SuiteResults; `agency_days`: the run's
    validation_run.AgencyDayVerdict list) and its index, refresh the site index, drop runs
    beyond the kept ones; returns the run's index page."""
    root = data_docs_dir()
    folder = run_folder(run_id)
    pages = {}
    for suite, results in outcomes.items():
        _ensure_site(root, suite)
        pages[suite] = []
        for chunk, outcome in enumerate(results):
            page = folder / suite / str(chunk) / PAGE
            write_bytes_atomic(expectations.render_validation_html(outcome).encode(), page)
            pages[suite].append(page.relative_to(folder).as_posix())
    index = folder / "index.html"
    write_bytes_atomic(_run_index(agency_days, pages, title), index)
    _prune(root / "runs")
    _write_site_index(root)
    return index


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
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
        ".blocked{background:#f8d7da}.warning{background:#fff3cd}.passed{background:#d4edda}"
        f"</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    ).encode()


def _run_index(agency_days: list, pages: dict[str, list[str]], title: str) -> bytes:
    links = " · ".join(
        f"{html.escape(suite)}: " + ", ".join(f"<a href='{p}'>page {n + 1}</a>" for n, p in enumerate(paths))
        for suite, paths in pages.items()
    )
    rows = []
    for item in agency_days:
        failed = "; ".join(f"{suite}: {line}" for suite, v in item.verdicts.items() for line in v.lines)
        rows.append(
            f"<tr class={STATUS_CLASSES.get(item.status, 'blocked')}><td>{item.day}</td>"
            f"<td>{html.escape(item.agency_code)}</td><td>{html.escape(item.status)}</td><td>{item.quarantined}</td>"
            f"<td>{html.escape(failed or item.reason) or '&nbsp;'}</td></tr>"
        )
    validated_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    body = (
        f"<p><a href='../../index.html'>all runs</a> · validated at {validated_at} (UTC)</p><p>{links}</p>"
        "<table><tr><th>day</th><th>agency</th><th>status</th><th>rows quarantined</th><th>failures</th></tr>"
        f"{''.join(rows)}</table>"
    )
    return _page(title, body)


def _prune(runs: Path) -> None:
    """Keep the newest `KEEP_RUNS` runs."""
    folders = sorted((p for p in runs.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in folders[KEEP_RUNS:]:
        shutil.rmtree(old, ignore_errors=True)


def _write_site_index(root: Path) -> None:
    runs = sorted((p for p in (root / "runs").iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    items = "".join(
        f"<li><a href='runs/{html.escape(p.name)}/index.html'>{html.escape(p.name)}</a> "
        f"({datetime.fromtimestamp(p.stat().st_mtime, timezone.utc).isoformat(timespec='seconds')} UTC)</li>"
        for p in runs
    )
    suites = " · ".join(f"<a href='expectations/{p.name}'>{html.escape(p.stem)}</a>"
                        for p in sorted((root / "expectations").glob("*.html")))
    body = f"<p>The suites: {suites}</p><h2>Validation runs (the last {KEEP_RUNS})</h2><ul>{items}</ul>"
    write_bytes_atomic(_page("Data quality: Great Expectations validations", body), root / "index.html")

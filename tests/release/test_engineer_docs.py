"""The engineers' docs: Great Expectations pages readable offline (no CDN, no heavier than GX's
own), served over http with dbt's docs for `make ui`, and `make docs` building dbt's docs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import requests

from pipelines.lib import expectations
from tests.release.test_catalogue_page import ARGS, CHROMIUM

REPO = Path(__file__).resolve().parents[2]
SUITE = "agency_registry"


def test_gx_pages_load_nothing_from_the_network_and_weigh_no_more():
    from great_expectations.render.renderer.page_renderer import ExpectationSuitePageRenderer

    page = expectations.render_suite_html(SUITE)
    loaded = re.findall(r'<(?:link|script|img)[^>]+(?:href|src)="(https?://[^"]+)"', page)
    assert loaded == [] and "<style>" in page
    _, suite = expectations._prepared(SUITE)
    original = expectations._page_view().render(ExpectationSuitePageRenderer().render(suite))
    assert len(re.findall(r'(?:href|src)="https?://', original)) >= 15 and len(page) <= len(original)


def test_gx_pages_are_styled_in_a_browser_offline(tmp_path):
    from playwright.sync_api import sync_playwright

    site = tmp_path / "data_docs"
    (site / "expectations").mkdir(parents=True)
    (site / "expectations" / f"{SUITE}.html").write_text(expectations.render_suite_html(SUITE), encoding="utf-8")
    remote = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.route(re.compile(r"^https?://"), lambda route: (remote.append(route.request.url), route.abort()))
        page.goto((site / "expectations" / f"{SUITE}.html").as_uri())
        background = page.eval_on_selector(".badge", "(n) => getComputedStyle(n).backgroundColor")
        browser.close()
    assert remote == [] and background not in ("rgba(0, 0, 0, 0)", "transparent")


def test_the_docs_server_serves_data_docs_and_dbt_docs(tmp_path):
    from pipelines.serve.docs import serve_docs

    (tmp_path / "quality" / "data_docs").mkdir(parents=True)
    page = tmp_path / "quality" / "data_docs" / "index.html"
    page.write_text("<h1>Data Docs</h1>")
    page.chmod(0o600)  # as the atomic writer leaves it: the server still reads it
    (tmp_path / "dbt" / "docs").mkdir(parents=True)
    (tmp_path / "dbt" / "docs" / "index.html").write_text("<h1>dbt</h1>")
    running = serve_docs(port=0, data=tmp_path)
    try:
        assert "Data Docs" in requests.get(f"{running.url}/data-docs/", timeout=10).text
        assert "dbt" in requests.get(f"{running.url}/dbt-docs/", timeout=10).text
        assert requests.get(f"{running.url}/data-docs/../dbt/docs/index.html", timeout=10).status_code == 404
        assert requests.post(f"{running.url}/data-docs/", timeout=10).status_code == 405
    finally:
        running.stop()


def test_make_docs_builds_dbt_docs(pipeline_run):
    venv = os.path.relpath(sys.prefix, REPO)  # the Makefile's paths are relative to the repo
    # `-o`: take this virtual environment as installed; this test builds docs, not venvs.
    result = subprocess.run(["make", "-C", str(REPO), "docs", f"VENV={venv}", "-o", f"{venv}/.installed",
                             f"EGOV_DATA_DIR={pipeline_run.data}"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    built = pipeline_run.data / "dbt" / "docs"
    assert (built / "catalog.json").stat().st_size > 1000 and "kpi_scores" in (built / "static_index.html").read_text(encoding="utf-8")


def test_data_docs_are_written_once_per_run_and_stay_small(pipeline_run):
    """A GX page per suite and validation run (not per agency-day), under 10 MB in all."""
    docs = pipeline_run.data / "quality" / "data_docs"
    runs = [p for p in (docs / "runs").iterdir() if (p / "raw_dossiers").is_dir()]
    pages = sorted(p.relative_to(docs / "runs").parts[1] for p in (docs / "runs").rglob("validation.html"))
    agency_days = len(pipeline_run.agencies) * len(pipeline_run.days)
    assert len(runs) == 1 and agency_days > 1
    assert pages == ["agency_registry", "procedure_catalogue", "raw_dossier_partitions", "raw_dossiers"]
    total = sum(p.stat().st_size for p in docs.rglob("*") if p.is_file())
    assert total < 10 * 2**20, total
    assert all(p.stat().st_mode & 0o004 for p in docs.rglob("*.html")), "readable by a web server"

"""The catalogue page in headless Chromium: no console errors, every link answers 200, every
table with its dictionary and download links, a chart per KPI rate, and a CSV downloaded
through the page byte-identical to the release file."""

from __future__ import annotations

import json

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def page(http_server, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(accept_downloads=True, viewport={"width": 1200, "height": 900})
        page = context.new_page()
        page.errors = []
        page.on("console", lambda message: page.errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto(f"{http_server}/")
        page.wait_for_selector("body[data-ready=true]", timeout=60_000)
        yield page
        page.screenshot(path=str(tmp_path_factory.mktemp("page") / "catalogue.png"), full_page=True)
        browser.close()


def test_page_loads_without_console_errors_and_shows_every_table(page, pipeline_run):
    assert page.errors == []
    package = json.loads((pipeline_run.open_dir / "latest" / "datapackage.json").read_text(encoding="utf-8"))
    for table in package["tables"]:
        card = page.locator(f"article#{table['name']}")
        assert card.count() == 1
        assert card.locator("table tbody tr").count() >= 3  # the data dictionary
    facts = page.locator("#facts").inner_text()
    assert "2025-03-03 … 2025-03-04" in facts and package["dataAsOf"] in facts and "2025-03-06" in facts


def test_a_chart_per_kpi_rate(page, pipeline_run):
    package = json.loads((pipeline_run.open_dir / "latest" / "datapackage.json").read_text(encoding="utf-8"))
    rates = [f["name"] for r in package["resources"] if r["name"].startswith("kpi_") and r.get("type") == "table"
             and not r["name"].endswith("-excel") for f in r["schema"]["fields"] if f["name"].endswith("_rate")]
    charts = page.locator("figure.chart")
    assert sorted(charts.evaluate_all("(nodes) => nodes.map((n) => n.dataset.column)")) == sorted(rates)
    online = page.locator("#kpi_transaction_volumes figure.chart[data-column=online_dossier_rate] rect")
    assert online.count() > len(pipeline_run.agencies)  # a cell per agency and day, plus the legend


def test_every_link_answers_200(page):
    links = page.locator("a[href]").evaluate_all("(nodes) => [...new Set(nodes.map((n) => n.href))]")
    internal = [link for link in links if link.startswith(page.url.rstrip("/"))]
    assert len(internal) >= 7 * 4 * 2  # every table in four formats, current and per version
    for link in internal:
        response = page.request.get(link)
        assert response.status == 200, link


def test_a_csv_downloaded_through_the_page_is_the_release_file(page, pipeline_run, tmp_path):
    with page.expect_download() as download:
        page.locator("#kpi_processed_records p.downloads a", has_text="CSV").first.click()
    saved = tmp_path / "download.csv"
    download.value.save_as(saved)
    assert saved.read_bytes() == (pipeline_run.open_dir / "releases" / "1.0.0" / "kpi_processed_records.csv").read_bytes()


def test_the_freshness_section_shows_the_release_report(page, pipeline_run):
    report = json.loads((pipeline_run.open_dir / "latest" / "freshness.json").read_text(encoding="utf-8"))
    section = page.locator("section#freshness")
    assert section.is_visible()
    text = section.inner_text()
    assert f"{report['summary']['on_time']} of {report['summary']['agencies']} agencies on time" in text
    late = [a for a in report["agencies"] if a["status"] != "on_time"]
    assert page.locator("#freshness-agencies tbody tr").count() == len(late)
    for agency in late:
        assert agency["agency_code"] in text
    listed = page.locator("#freshness-tables li").all_inner_texts()
    assert [item.split(":")[0] for item in listed] == [t["table"] for t in report["kpi_tables"]]

"""The catalogue page in real Chromium, at a laptop's 1366 px and a phone's 390 px, on a release
of a year of daily rows: no horizontal overflow; the first view shows title, period, freshness
and downloads; the previews (from the API), charts and map render; the page weighs under 1 MB;
every link answers; with JavaScript off the facts, downloads and dictionary are still there.
A screenshot of each width is written under the test's tmp dir."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.release.build import publish_release
from pipelines.settings import TIMEZONE

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
MANIFEST = Path(__file__).resolve().parents[2] / "dbt_project" / "target" / "manifest.json"
WIDTHS = {"laptop": 1366, "phone": 390}
FIRST_VIEW = 900  # px: what a phone shows before scrolling
MAX_WEIGHT = 1_000_000  # bytes transferred for the whole page


def a_year_of_rows(warehouse: Path) -> None:
    """Copy the two days of every KPI table to 366 days (and their month to twelve months), as
    if a year of history stood behind them (stocks complete, so the stock charts have points)."""
    with duckdb.connect(str(warehouse)) as con:
        tables = [t for (t,) in con.execute("select table_name from information_schema.tables where table_name like 'kpi_%' "
                                            "and table_type = 'BASE TABLE' and table_name <> 'kpi_score_rules'").fetchall()]
        for table in tables:
            con.execute(f"create temp table seed as select * from {table}")
            con.execute(f"insert into {table} select * exclude (k) replace (period_start + to_days(2 * cast(k as integer)) as period_start, "
                        f"period_end + to_days(2 * cast(k as integer)) as period_end) from seed, range(1, 183) as r(k) where period = 'day'")
            con.execute(f"insert into {table} select * exclude (k) replace (period_start + to_months(cast(k as integer)) as period_start, "
                        f"period_end + to_months(cast(k as integer)) as period_end) from seed, range(1, 12) as r(k) where period = 'month'")
            con.execute("drop table seed")
            con.execute(f"update {table} set stocks_complete = true")


@pytest.fixture(scope="module")
def year_server(pipeline_run, tmp_path_factory):
    """A release built by the release builder from a warehouse holding a year of daily rows."""
    import shutil

    from pipelines.serve.server import serve

    folder = tmp_path_factory.mktemp("year")
    warehouse = folder / "kpi.duckdb"
    shutil.copyfile(pipeline_run.warehouse, warehouse)
    a_year_of_rows(warehouse)
    publish_release(warehouse, folder / "open", MANIFEST, now=datetime(2026, 3, 2, 6, 0, tzinfo=TIMEZONE))
    running = serve(folder / "open", port=0, quiet=True)
    yield running.url, folder / "open"
    running.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module", params=list(WIDTHS))
def page(request, browser, year_server, tmp_path_factory):
    url, _ = year_server
    context = browser.new_context(viewport={"width": WIDTHS[request.param], "height": FIRST_VIEW}, accept_downloads=True)
    page = context.new_page()
    page.errors = []
    page.on("console", lambda message: page.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(f"{url}/")
    page.wait_for_selector("body[data-ready=true]", timeout=60_000)
    page.screenshot(path=str(tmp_path_factory.mktemp("screens") / f"catalogue-{WIDTHS[request.param]}.png"), full_page=True)
    yield page
    context.close()


def test_no_horizontal_overflow_and_no_errors(page):
    assert page.errors == []
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def test_the_first_view_says_what_and_how_fresh_and_offers_downloads(page, year_server):
    package = json.loads((year_server[1] / "latest" / "datapackage.json").read_text(encoding="utf-8"))
    for selector in ("#title", "#period", "#freshness-summary", "#downloads a"):
        box = page.locator(selector).first.bounding_box()
        assert box is not None and box["y"] + min(box["height"], 40) <= FIRST_VIEW, selector
    title = page.locator("#title").inner_text()
    assert "dịch vụ công trực tuyến" in title and "e-government" in title
    start = datetime.fromisoformat(package["period"]["start"])
    assert f"{start:%d/%m/%Y}" in page.locator("#period").inner_text()  # a date for people, not ISO
    freshness = page.locator("#freshness-summary").inner_text()
    assert "Data as of" in freshness and "Số liệu đến" in freshness and "T" not in freshness.split("Data as of")[1][:12]
    first = page.locator("#downloads a").first
    assert page.request.get(page.url.rstrip("/") + first.get_attribute("href")).status == 200


def test_previews_come_from_the_api(page, year_server):
    package = json.loads((year_server[1] / "latest" / "datapackage.json").read_text(encoding="utf-8"))
    for table in package["tables"]:
        rows = page.locator(f".preview[data-table={table['name']}] tbody tr")
        assert rows.count() == 5, table["name"]
    assert page.locator(".preview[data-table=kpi_scores] th").count() <= 8


def test_charts_and_map_render(page):
    assert page.locator("figure.chart[data-column=on_time_rate] svg circle").count() > 30  # 90 days of points
    areas = page.locator("#map-figure path")
    assert areas.count() == 34 and page.locator("#map-figure").get_attribute("data-map") == "34"
    assert areas.first.bounding_box()["width"] > 1
    page.locator("#map-view button[data-map='63']").click()
    assert page.locator("#map-figure path").count() == 63
    page.locator("#map-view select").select_option("on_time_rate")
    assert page.locator("#map-figure").get_attribute("data-measure") == "on_time_rate"


def test_the_page_weighs_under_a_megabyte_for_a_year(page, year_server):
    folder = year_server[1] / "latest"
    assert sum(1 for _ in open(folder / "kpi_processed_records.csv", encoding="utf-8")) > 365 * 5  # a year of daily rows
    transferred = page.evaluate("""() => performance.getEntriesByType('navigation')[0].transferSize
        + performance.getEntriesByType('resource').reduce((sum, r) => sum + r.transferSize, 0)""")
    assert 10_000 < transferred < MAX_WEIGHT, transferred


def test_every_link_answers(page):
    links = page.locator("a[href]").evaluate_all("(nodes) => [...new Set(nodes.map((n) => n.href))]")
    internal = [link.split("#")[0] for link in links if link.startswith(page.url.rstrip("/")) and "#" not in link]
    assert len(internal) >= 7 * 4
    for link in sorted(set(internal)):
        assert page.request.get(link).status == 200, link


def test_schema_org_dataset_markup(page):
    data = json.loads(page.locator("script[type='application/ld+json']").inner_text())
    assert data["@type"] == "Dataset" and data["license"].startswith("https://creativecommons.org/")
    assert data["temporalCoverage"].count("/") == 1 and any(d["contentUrl"].endswith(".sqlite") for d in data["distribution"])


def test_cite_this_and_contact(page):
    assert "version" in page.locator("#citation").inner_text()
    assert page.locator("#contact").get_attribute("href").startswith("mailto:")


def test_without_javascript_the_facts_downloads_and_dictionary_are_there(browser, year_server):
    url, folder = year_server
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": FIRST_VIEW})
    page = context.new_page()
    page.goto(f"{url}/")
    package = json.loads((folder / "latest" / "datapackage.json").read_text(encoding="utf-8"))
    for table in package["tables"]:
        card = page.locator(f"article#{table['name']}")
        assert card.locator(".dictionary tbody tr").count() >= 3
        assert card.locator("p.downloads a[href$='.csv']").count() >= 1
    assert page.locator("#period").is_visible() and page.locator("#freshness-summary").is_visible()
    context.close()


def test_a_csv_downloaded_through_the_page_is_the_release_file(page, year_server, tmp_path):
    with page.expect_download() as download:
        page.locator("#kpi_processed_records p.downloads a", has_text="CSV").first.click()
    saved = tmp_path / "download.csv"
    download.value.save_as(saved)
    assert saved.read_bytes() == (year_server[1] / "latest" / "kpi_processed_records.csv").read_bytes()


def test_the_freshness_section_on_the_pipeline_release(browser, http_server, pipeline_run):
    report = json.loads((pipeline_run.open_dir / "latest" / "freshness.json").read_text(encoding="utf-8"))
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{http_server}/")
    text = page.locator("section#freshness").inner_text()
    assert f"{report['summary']['on_time']} of {report['summary']['agencies']} agencies on time" in text
    late = [a for a in report["agencies"] if a["status"] != "on_time"]
    assert page.locator("#freshness-agencies tbody tr").count() == len(late)
    listed = page.locator("#freshness-tables li").all_inner_texts()
    assert [item.split(":")[0] for item in listed] == [t["table"] for t in report["kpi_tables"]]
    context.close()

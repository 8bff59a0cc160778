"""The query API: every table of a release queryable by URL, filtered, paged, JSON and CSV, its
limits stated in every response and enforced out loud (a 400, not a silent cut)."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import requests

from pipelines.lib.release.checksums import read_sums
from pipelines.lib.release.database import DATABASE_FILE

DB = "v1-0-0"


def package(run) -> dict:
    return json.loads((run.open_dir / "releases" / "1.0.0" / "datapackage.json").read_text(encoding="utf-8"))


def test_every_table_is_queryable_with_its_row_count(http_server, pipeline_run):
    tables = {t["name"]: next(r["rows"] for r in package(pipeline_run)["resources"] if r["name"] == t["name"])
              for t in package(pipeline_run)["tables"]}
    assert {"kpi_scores", "agencies", "provinces", "procedures"} <= set(tables)
    for table, rows in tables.items():
        page = requests.get(f"{http_server}/api/{DB}/{table}.json?_size=1", timeout=30).json()
        assert page["filtered_table_rows_count"] == rows, table


def test_a_filtered_paged_query_states_its_limits(http_server, pipeline_run):
    url = f"{http_server}/api/{DB}/kpi_processed_records.json"
    query = {"agency_level": "province", "period": "day", "geography": "as_was", "_size": 2, "_shape": "objects",
             "_col": ["on_time_rate", "agency_level"], "_sort": "agency_code"}
    first = requests.get(url, params=query, timeout=30)
    assert first.status_code == 200
    assert first.headers["X-Max-Page-Size"] == "1000" and first.headers["X-Query-Time-Limit-Ms"] == "3000"
    body = first.json()
    total = body["filtered_table_rows_count"]
    assert total == len(pipeline_run.days) * 3  # three provinces a day, as they were
    rows, page = list(body["rows"]), body
    while page["next_url"]:  # every row, page by page, in key order
        page = requests.get(page["next_url"], timeout=30).json()
        rows += page["rows"]
    assert len(rows) == total and all(r["agency_level"] == "province" for r in rows)
    assert set(rows[0]) == {"period", "period_start", "geography", "agency_code", "on_time_rate", "agency_level"}
    assert [r["agency_code"] for r in rows] == sorted(r["agency_code"] for r in rows)


def test_csv_with_a_date_range_and_every_row_streamed(http_server, pipeline_run):
    day = pipeline_run.days[1].isoformat()
    response = requests.get(f"{http_server}/api/{DB}/kpi_transaction_volumes.csv",
                            params={"period": "day", "period_start__gte": day, "_stream": "on"}, timeout=30)
    assert response.status_code == 200 and response.headers["X-Max-Page-Size"] == "1000"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows and {r["period_start"] for r in rows} == {day}
    expected = [r for r in csv.DictReader(open(pipeline_run.open_dir / "releases/1.0.0/kpi_transaction_volumes.csv", encoding="utf-8"))
                if r["period"] == "day" and r["period_start"] >= day]
    assert len(rows) == len(expected)


def test_a_page_larger_than_the_limit_is_refused_not_cut(http_server):
    response = requests.get(f"{http_server}/api/{DB}/procedures.json?_size=5000", timeout=30)
    assert response.status_code == 400 and "1000" in response.text


def test_facets_per_agency_level_and_period(http_server, pipeline_run):
    body = requests.get(f"{http_server}/api/{DB}/kpi_scores.json?_facet=agency_level&_facet=period&_size=0", timeout=30).json()
    facets = body["facet_results"]
    levels = {f["value"]: f["count"] for f in facets["agency_level"]["results"]}
    periods = {f["value"]: f["count"] for f in facets["period"]["results"]}
    assert set(periods) == {"day", "month"} and sum(periods.values()) == body["filtered_table_rows_count"]
    assert {"ministry", "province"} <= set(levels)


def test_a_slow_query_is_stopped_at_the_time_limit(http_server):
    endless = "with recursive n(i) as (select 1 union all select i + 1 from n) select count(*) from n"
    response = requests.get(f"{http_server}/api/{DB}.json", params={"sql": endless}, timeout=30)
    assert response.status_code == 400 and "too long" in response.text


def test_latest_redirects_to_the_current_database(http_server):
    response = requests.get(f"{http_server}/api/latest/kpi_scores.json?_size=1", allow_redirects=False, timeout=30)
    assert response.status_code == 302 and response.headers["Location"] == f"/api/{DB}/kpi_scores.json?_size=1"


def test_the_database_is_a_checksummed_file_with_the_csv_rows(pipeline_run):
    folder = pipeline_run.open_dir / "releases" / "1.0.0"
    assert DATABASE_FILE in read_sums(folder)
    resource = next(r for r in package(pipeline_run)["resources"] if r["path"] == DATABASE_FILE)
    assert resource["mediatype"] == "application/vnd.sqlite3" and resource["bytes"] == (folder / DATABASE_FILE).stat().st_size
    with sqlite3.connect(f"file:{folder / DATABASE_FILE}?mode=ro", uri=True) as con:
        for table in package(pipeline_run)["tables"]:
            with open(folder / f"{table['name']}.csv", encoding="utf-8") as fh:
                assert con.execute(f'select count(*) from "{table["name"]}"').fetchone()[0] == sum(1 for _ in fh) - 1
    service = package(pipeline_run)["dataService"]
    assert service["endpointURL"].endswith(f"/api/{DB}") and service["limits"]["max_page_size"] == 1000

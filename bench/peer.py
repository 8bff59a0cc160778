"""The peer: what a data engineer would otherwise pick to load this API into DuckDB, dlt's REST API source.

Same agencies, window and page size as the pipeline; one resource per agency (its own bearer
token), all into one `dossiers` table; the page token followed from `next_page_token`. Nested
lists stay JSON columns (`max_table_nesting=0`), as the pipeline keeps the status history; the
loader writes Parquet and normalizes in as many processes as the pipeline has workers (the
extracted items rotated into files of 20,000 so that it can). The
agencies serving CSV get a response hook that turns the page into the JSON envelope, the way
dlt's docs show for reshaping a response. No personal data is removed: the peer does less.
"""

from __future__ import annotations

import csv
import io
import os
import time
from datetime import date, timedelta
from pathlib import Path

import orjson
import requests

from bench.floor import PAGE_SIZE
from pipelines.lib.agency_days import agency_days
from pipelines.lib.agency_api import load_tokens

FILE_MAX_ITEMS = 20_000


def csv_page_as_json(response: requests.Response, *args, **kwargs) -> requests.Response:
    """A CSV page (window total and next token in headers) rewritten as the JSON envelope."""
    if response.headers.get("Content-Type", "").startswith("text/csv"):
        rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
        response._content = orjson.dumps({"items": rows, "next_page_token": response.headers.get("X-Next-Page-Token")})
    return response


def serves_csv(base_url: str, code: str, token: str, day: date) -> bool:
    """One item of the day's first minute (a day the simulator has generated already) tells the format."""
    first_minute = {"updated_from": day.strftime("%Y%m%d000000"), "updated_to": day.strftime("%Y%m%d000100")}
    response = requests.get(f"{base_url}/api/v1/agencies/{code}/dossiers", timeout=60,
                            params={**first_minute, "page_size": 1},
                            headers={"Authorization": f"Bearer {token}"})
    return response.headers.get("Content-Type", "").startswith("text/csv")


def load(day: str, workers: int, work_dir: str, agencies: list[str] | None = None) -> dict:
    """Load the day with dlt; only `pipeline.run` is timed (the CSV probe is set-up)."""
    # dlt's performance knobs, as its docs advise: normalize in `workers` processes, which needs
    # the extracted items rotated into several files (20,000 items a file; one file otherwise).
    os.environ.update({"RUNTIME__DLTHUB_TELEMETRY": "false", "NORMALIZE__WORKERS": str(workers),
                       "DATA_WRITER__FILE_MAX_ITEMS": str(FILE_MAX_ITEMS)})
    import dlt
    from dlt.sources.rest_api import rest_api_source

    base_url, tokens = os.environ["EGOV_SOURCE_URL"], load_tokens(os.environ["EGOV_AGENCY_TOKENS_FILE"])
    start = date.fromisoformat(day)
    codes = [code for code, _ in agency_days([start], agencies)]
    resources = []
    for code in codes:
        endpoint = {
            "path": f"api/v1/agencies/{code}/dossiers",
            "params": {"updated_from": start.strftime("%Y%m%d000000"),
                       "updated_to": (start + timedelta(days=1)).strftime("%Y%m%d000000"), "page_size": PAGE_SIZE},
            "auth": {"type": "bearer", "token": tokens[code]},
            "data_selector": "items",
            "paginator": {"type": "cursor", "cursor_path": "next_page_token", "cursor_param": "page_token"},
        }
        if serves_csv(base_url, code, tokens[code], start):
            endpoint["response_actions"] = [csv_page_as_json]
        resources.append({"name": f"agency_{code}", "table_name": "dossiers", "endpoint": endpoint})
    source = rest_api_source({"client": {"base_url": base_url}, "resources": resources},
                             max_table_nesting=0, parallelized=True)
    work = Path(work_dir)
    pipeline = dlt.pipeline(pipeline_name="bench_peer", pipelines_dir=str(work / "pipelines"),
                            destination=dlt.destinations.duckdb(str(work / "peer.duckdb")), dataset_name="agency_api")
    started = time.perf_counter()
    pipeline.run(source, loader_file_format="parquet")
    seconds = time.perf_counter() - started
    with pipeline.sql_client() as client:
        versions = client.execute_sql("select count(*) from dossiers")[0][0]
    return {"seconds": round(seconds, 3), "versions": versions, "agencies": len(codes)}

"""The floor: the least work that gets the same figures, measured in the same run.

`fetch`: the same pages as the pipeline (same agencies, window and page size, same worker
count), one `requests` GET and one JSON parse per page, nothing kept: the simulator
benchmark's own loop (bench/bench_simulator.py), an agency at a time in each worker.
`kpi_query`: one DuckDB query over the day's landed Parquet that computes the daily figures
every KPI starts from.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from datetime import date

import duckdb

from bench.bench_simulator import fetch_day
from pipelines.lib.agency_days import agency_days
from pipelines.defs.resources import AgencyApi
from pipelines.lib import paths
from pipelines.lib.agency_api import SourceLimits, load_tokens
from pipelines.settings import warehouse_path

# What the pipeline asks for: the resource's page size, else the client's default. The
# simulator keeps served pages under the query as sent, so a floor that sent no page size
# warmed pages ingest never asked for, and ingest's wall time was the simulator rendering the
# day again (runs before 20261202T111005 included).
PAGE_SIZE = AgencyApi.model_fields["page_size"].default or SourceLimits().page_size


def fetch(day: str, workers: int, agencies: list[str] | None = None) -> dict:
    """Every agency-day the pipeline would pull for `day`, in `workers` processes."""
    base_url, tokens = os.environ["EGOV_SOURCE_URL"], load_tokens(os.environ["EGOV_AGENCY_TOKENS_FILE"])
    codes = [code for code, _ in agency_days([date.fromisoformat(day)], agencies)]
    n = len(codes)
    jobs = ([base_url] * n, [{c: tokens[c]} for c in codes], [date.fromisoformat(day)] * n, [[c] for c in codes],
            [PAGE_SIZE] * n)
    if workers <= 1:
        counts = list(map(fetch_day, *jobs))
    else:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            counts = list(pool.map(fetch_day, *jobs))
    return {"versions": sum(c[0] for c in counts), "mb": round(sum(c[1] for c in counts) / 2**20, 1),
            "pages": sum(c[2] for c in counts), "agencies": n}


# Per agency: dossiers received (accepted) on the day, by channel, and dossiers completed on it
# (handling ended with status 9 or 10): the first columns of kpi_processed_records.
KPI_QUERY = """
with last_version as (
    select * from read_parquet('{files}')
    qualify row_number() over (partition by dossier_code order by updated_at desc) = 1
)
select
    agency_code,
    count(*) filter (where cast(accepted_at as date) = date '{day}') as received_total,
    count(*) filter (where cast(accepted_at as date) = date '{day}' and channel = 1) as received_in_person,
    count(*) filter (where cast(accepted_at as date) = date '{day}' and channel = 2) as received_online,
    count(*) filter (where cast(accepted_at as date) = date '{day}' and channel = 3) as received_by_post,
    count(*) filter (where status in (9, 10) and cast(coalesce(ended_at, updated_at) as date) = date '{day}') as completed
from last_version
group by agency_code
order by agency_code
"""


PIPELINE_FIGURES = """
select agency_code, received_total, received_in_person, received_online, received_by_post, completed
from kpi_processed_records
where period = 'day' and geography = 'as_was' and period_start = date '{day}' and agency_code <> 'VN'
"""


def kpi_query(day: str) -> dict:
    """The floor query on the landed files, and which agencies it disagrees with the pipeline on (a few ms more)."""
    files = paths.raw_dossiers_root() / f"date={day}" / "*" / paths.DOSSIERS_FILE
    floor = duckdb.sql(KPI_QUERY.format(files=files, day=day)).fetchall()
    result = {"agencies": len(floor), "received": sum(r[1] for r in floor), "completed": sum(r[5] for r in floor)}
    with duckdb.connect(str(warehouse_path()), read_only=True) as con:
        pipeline = {r[0]: r[1:] for r in con.sql(PIPELINE_FIGURES.format(day=day)).fetchall()}
    figures = {r[0]: r[1:] for r in floor}
    zeros = (0,) * 5
    result["differing_agencies"] = sorted(
        code for code in figures.keys() | pipeline.keys() if figures.get(code, zeros) != pipeline.get(code, zeros)
    )
    return result

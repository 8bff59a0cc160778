"""A week of every agency through the flaky and dirty simulator: every agency-day completes,
reconciles with the source's total, lands each dossier version once, and quarantines exactly
the records the simulator broke."""

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import duckdb
import pyarrow.parquet as pq
import pytest

from pipelines.lib.agency_api import AgencyApiClient
from pipelines.lib.ingest import ingest_dossiers
from pipelines.lib.pii import DEMO_HASH_KEY
from pipelines.lib.reference import agency_reports_on, parse_agency

WEEK = [date(2025, 6, 28) + timedelta(days=n) for n in range(7)]  # crosses the 1 July merger


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    from datetime import datetime

    from simulator import Simulation, start_server

    root = tmp_path_factory.mktemp("faults")
    sim = Simulation(seed=4, scale=0.004, faults="flaky,dirty", now=datetime(2025, 7, 6), slow_seconds=0.2)
    server, url = start_server(sim)
    agencies = [parse_agency(a) for a in sim.agencies()]
    partitions = [(a["agency_code"], day) for day in WEEK for a in agencies if agency_reports_on(a, day)]
    clients = threading.local()

    def ingest(partition):
        # One HTTP session per thread; the waits on retries overlap, as agencies run concurrently.
        if not hasattr(clients, "client"):
            clients.client = AgencyApiClient(url, sim.tokens(), backoff_factor=0.05, page_size=300)
        code, day = partition
        return ingest_dossiers(clients.client, code, day, DEMO_HASH_KEY.encode(), root / "raw", root / "quarantine")

    try:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(ingest, partitions))
    finally:
        server.shutdown()
    return sim, results, root


def test_every_agency_day_completes_and_reconciles(week):
    sim, results, _root = week
    assert len(results) > 7 * 50  # every ministry and province, ceased ones in their tail too
    assert sum(r.stats.retries for r in results) > 0, "the flaky profile made the client retry"
    for r in results:
        assert r.received == r.landed + r.quarantined, (r.agency_code, r.day)
        assert r.received - r.duplicates == r.source_total, (r.agency_code, r.day)


def test_no_dossier_version_is_landed_twice(week):
    _sim, _results, root = week
    ((versions, distinct),) = duckdb.sql(
        f"select count(*), count(distinct (dossier_code, updated_at)) from read_parquet('{root}/raw/*/*/dossiers.parquet')"
    ).fetchall()
    assert versions == distinct > 1000


def test_quarantine_holds_exactly_the_broken_and_duplicated_records(week):
    sim, _results, root = week
    injected = [f for f in sim.injected_faults() if f["kind"] not in ("http_500", "http_502", "http_503",
                                                                       "http_429", "slow", "drop", "truncated_page")]
    assert injected, "the dirty profile broke some records"
    quarantined = pq.read_table(list((root / "quarantine").glob("*/*/quarantine.parquet"))).to_pylist()
    caught = Counter((q["agency_code"], q["dossier_code"], "duplicate" if q["reason"].startswith("duplicate") else "record")
                     for q in quarantined)
    expected = Counter((f["agency"], f["dossier"], "duplicate" if f["kind"] == "duplicate" else "record")
                       for f in injected if f["kind"] == "duplicate" or _breaks_parsing(f))
    assert caught == expected
    assert all("Nguyễn" not in q["record"] and "ChuHoSo" not in q["record"] for q in quarantined)


def _breaks_parsing(fault: dict) -> bool:
    """Impossible dates cannot be parsed; other broken values parse and are the checks' job."""
    return fault["kind"] == "bad_date"


def test_a_rerun_leaves_identical_files(week, tmp_path):
    sim, results, root = week
    from simulator import start_server

    server, url = start_server(sim)
    try:
        client = AgencyApiClient(url, sim.tokens(), backoff_factor=0.05, page_size=300)
        for r in results[:25]:
            before = {p: p.read_bytes() for p in (r.landed_path, r.quarantine_path, r.landed_path.with_name("partition.parquet"))}
            ingest_dossiers(client, r.agency_code, r.day, DEMO_HASH_KEY.encode(), root / "raw", root / "quarantine")
            assert {p: p.read_bytes() for p in before} == before, (r.agency_code, r.day)
    finally:
        server.shutdown()
    assert not list(root.rglob("*.tmp"))


def test_metadata_counts_are_json_friendly(week):
    _sim, results, _root = week
    json.dumps([r.metadata() for r in results])

"""At scale 0.01 every agency-day fits one page of the client's size, yet the dirty profile
still injects duplicates across pages, and ingestion quarantines each; read through the
simulator's CLI, as a test outside its process would."""

import json
import subprocess
import sys
from collections import Counter
from datetime import date, datetime

import pyarrow.parquet as pq
import pytest

from pipelines.lib.agency_api import AgencyApiClient, SourceLimits
from pipelines.lib.ingest import ingest_dossiers
from pipelines.lib.pii import DEMO_HASH_KEY
from pipelines.settings import REPO_ROOT

DAY = date(2025, 3, 4)
# Ministries and provinces whose day at 0.01 is 15 to 300 versions (G01 and G12 need several pages anyway).
AGENCIES = ["000.00.00.G02", "000.00.00.G03", "000.00.00.G10", "000.00.00.G17"] + [f"000.00.00.H{n:02d}" for n in range(1, 21)]


@pytest.fixture(scope="module")
def dirty(tmp_path_factory):
    from simulator import Simulation, start_server

    root = tmp_path_factory.mktemp("dirty")
    sim = Simulation(seed=8, scale=0.01, faults="dirty", now=datetime(2025, 3, 6), agencies=AGENCIES)
    server, url = start_server(sim)
    client = AgencyApiClient(url, sim.tokens())
    try:
        results = [ingest_dossiers(client, code, DAY, DEMO_HASH_KEY.encode(), root / "raw", root / "quarantine")
                   for code in AGENCIES]
        log = json.loads(subprocess.run(
            [sys.executable, "-m", "simulator", "truth", "--fault-log", url, "--day", DAY.isoformat()],
            cwd=REPO_ROOT, check=True, capture_output=True, text=True, timeout=120).stdout)
    finally:
        server.shutdown()
    return results, log, root


def test_every_window_fits_the_clients_page_yet_is_served_in_several(dirty):
    results, _log, _root = dirty
    assert all(r.source_total < SourceLimits().page_size for r in results)
    assert all(r.stats.pages >= 2 for r in results)


def test_duplicates_are_injected_and_each_is_quarantined(dirty):
    results, log, root = dirty
    injected = Counter((f["agency"], f["dossier"]) for f in log if f["kind"] == "duplicate")
    assert sum(injected.values()) >= 2, log
    quarantined = pq.read_table(list((root / "quarantine").glob("*/*/quarantine.parquet"))).to_pylist()
    caught = Counter((q["agency_code"], q["dossier_code"]) for q in quarantined if q["reason"].startswith("duplicate"))
    assert caught == injected
    assert sum(r.duplicates for r in results) == sum(injected.values())

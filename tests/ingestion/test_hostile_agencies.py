"""Agencies that misbehave on purpose (the simulator's `hostile` profile): each agency-day ends
within a stated bound with an error naming agency, day and cause, lands nothing, and the other
agencies land as usual. The injected faults are read through `python -m simulator truth`."""

import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipelines.lib.agency_api import AgencyApiClient, FetchStats, SourceError, SourceLimits
from pipelines.lib.ingest import ingest_dossiers
from pipelines.lib.pii import DEMO_HASH_KEY
from pipelines.settings import REPO_ROOT

DAY = date(2025, 3, 4)
NOW = datetime(2025, 3, 6)
SEED = 3
# A page deadline of 10 s: the slow drip (a byte a second) meets it, while a normal page (~1 s at
# most here, the simulator warmed) stays far from it on a loaded machine too.
PAGE_DEADLINE = 10.0
# A page cap of 4 MiB: the oversized page (96 MiB) meets it within its first few MiB, long before
# the page deadline, on any machine; the agencies' normal pages here are well under 1 MiB.
PAGE_BYTES_CAP = 4 * 2**20
# Each hostile agency-day must end within this (generous: the slowest case takes the page
# deadline plus one read, ~11 s here; machine load only adds to that).
BOUND_SECONDS = 45.0
CAUSES = {
    "cursor_loop": ("the next-page token repeats the one page 1 returned", False),
    "slow_drip": ("deadline exceeded (10 s for a page", True),
    "oversized_page": ("larger than the cap of", False),
    "foreign_redirect": ("off the agency API's origin", False),
    "html_page": ("answered 200 with an HTML page", True),
    "revoked_token": ("refused the API token (401 Unauthorized): credentials problem", False),
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Every agency of the day against the hostile simulator, 8 at a time through one client."""
    from simulator import Simulation, start_server

    root = tmp_path_factory.mktemp("hostile")
    sim = Simulation(seed=SEED, scale=0.005, faults="hostile", now=NOW)
    # The simulator's first window of an agency generates its whole lifecycle horizon (80 days);
    # in this process, under the GIL, eight of those at once made a normal agency's first page
    # take over 10 s. Generated ahead, the pages measure the client, not the simulator.
    window = datetime.combine(DAY, datetime.min.time())
    for code in sim.agency_codes(DAY):
        sim.window_index(code, window, window + timedelta(days=1))
    server, url = start_server(sim)
    client = AgencyApiClient(url, sim.tokens(), page_deadline_seconds=PAGE_DEADLINE, max_page_bytes=PAGE_BYTES_CAP,
                             page_size=300)

    def ingest(code):
        started = time.monotonic()
        try:
            outcome = ingest_dossiers(client, code, DAY, DEMO_HASH_KEY.encode(), root / "raw", root / "quarantine")
        except SourceError as error:
            outcome = error
        return code, outcome, time.monotonic() - started

    try:
        with ThreadPoolExecutor(8) as pool:
            outcomes = {code: (outcome, seconds) for code, outcome, seconds in pool.map(ingest, sim.agency_codes(DAY))}
        log = json.loads(subprocess.run(
            [sys.executable, "-m", "simulator", "truth", "--fault-log", url], cwd=REPO_ROOT, check=True,
            capture_output=True, text=True, timeout=120).stdout)
    finally:
        server.shutdown()
    return sim, outcomes, log, root


def test_every_hostile_case_is_served_and_logged(hostile):
    sim, _outcomes, log, _root = hostile
    plan = sim.hostile_agencies()
    assert sorted(plan.values()) == sorted(CAUSES)
    assert {(f["agency"], f["kind"]) for f in log} == set(plan.items())
    assert {f["day"] for f in log} == {DAY.isoformat()}


@pytest.mark.parametrize("kind", sorted(CAUSES))
def test_a_hostile_agency_day_fails_in_bounded_time_naming_agency_day_and_cause(hostile, kind):
    sim, outcomes, _log, root = hostile
    code = next(c for c, k in sim.hostile_agencies().items() if k == kind)
    error, seconds = outcomes[code]
    assert isinstance(error, SourceError), f"{code} ({kind}) did not fail: {error}"
    cause, retryable = CAUSES[kind]
    assert f"agency {code}, day {DAY}, page " in str(error) and cause in str(error), str(error)
    assert error.retryable is retryable
    assert seconds < BOUND_SECONDS, f"{kind}: {seconds:.1f} s"
    # Nothing of it is landed, not even a temporary file.
    for layer in ("raw", "quarantine"):
        assert not [p for p in (root / layer).glob(f"date={DAY}/agency={code}/*")], (layer, code)


def test_the_other_agencies_land_and_reconcile(hostile):
    sim, outcomes, _log, _root = hostile
    others = {c: o for c, (o, _s) in outcomes.items() if sim.hostile(c) is None}
    assert len(others) > 40
    for code, result in others.items():
        assert not isinstance(result, Exception), (code, result)
        assert result.received - result.duplicates == result.source_total, code
        assert result.landed_path.exists()


def test_the_agency_day_deadline_bounds_a_window_whose_pages_are_each_within_theirs(hostile):
    sim, _outcomes, _log, _root = hostile
    from simulator import start_server

    server, url = start_server(sim)
    code = next(c for c, k in sim.hostile_agencies().items() if k == "slow_drip")
    client = AgencyApiClient(url, sim.tokens(), page_deadline_seconds=60, agency_day_deadline_seconds=2)
    started = time.monotonic()
    try:
        with pytest.raises(SourceError, match=r"deadline exceeded \(2 s for the agency-day"):
            list(client.dossier_pages(code, datetime(2025, 3, 4), datetime(2025, 3, 5), FetchStats()))
    finally:
        server.shutdown()
    assert time.monotonic() - started < BOUND_SECONDS


@pytest.fixture(scope="module")
def normal_api():
    from simulator import Simulation, start_server

    sim = Simulation(seed=SEED, scale=0.02, faults="none", now=NOW, agencies=["000.00.00.G12"], variants="v1")
    server, url = start_server(sim)
    yield sim, url
    server.shutdown()


def test_a_window_of_more_pages_than_the_cap_is_stopped(normal_api):
    sim, url = normal_api
    client = AgencyApiClient(url, sim.tokens(), page_size=50, max_pages=2)
    with pytest.raises(SourceError, match=r"agency 000.00.00.G12, day 2025-03-04: more than 2 pages") as caught:
        list(client.dossier_pages("000.00.00.G12", datetime(2025, 3, 4), datetime(2025, 3, 5), FetchStats()))
    assert caught.value.retryable is False


def test_a_page_over_the_record_cap_is_refused(normal_api):
    sim, url = normal_api
    client = AgencyApiClient(url, sim.tokens(), page_size=50, max_page_records=10)
    with pytest.raises(SourceError, match=r"day 2025-03-04, page 1: 50 records in one page, over the cap of 10"):
        list(client.dossier_pages("000.00.00.G12", datetime(2025, 3, 4), datetime(2025, 3, 5), FetchStats()))


def test_limits_come_from_the_environment_then_the_call():
    limits = SourceLimits.from_env({"EGOV_SOURCE_PAGE_DEADLINE_SECONDS": "7.5", "EGOV_SOURCE_MAX_PAGES": "3"},
                                   max_pages=4, page_size=None)
    assert (limits.page_deadline_seconds, limits.max_pages, limits.page_size) == (7.5, 4, SourceLimits().page_size)
    with pytest.raises(SourceError, match="EGOV_SOURCE_MAX_PAGES='many' is not a number"):
        SourceLimits.from_env({"EGOV_SOURCE_MAX_PAGES": "many"})


def test_a_redirect_within_the_agency_origin_is_followed_with_its_token():
    """The API moved a path on its own host: followed, the token kept (requests keeps it on one host)."""
    page = json.dumps({"total": 1, "items": [{"MaHoSo": "x"}], "next_page_token": None}).encode()

    class Moved(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            if self.path.startswith("/api/"):
                self.send_response(301)
                self.send_header("Location", "/v2" + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            ok = self.headers.get("Authorization") == "Bearer t"
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Moved)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = AgencyApiClient(f"http://127.0.0.1:{server.server_address[1]}", {"A": "t"})
        pages = list(client.dossier_pages("A", datetime(2025, 3, 4), datetime(2025, 3, 5), FetchStats()))
    finally:
        server.shutdown()
    assert [p.items for p in pages] == [[{"MaHoSo": "x"}]]


def test_a_server_that_never_answers_meets_the_page_deadline_not_every_retrys_timeout():
    """Connections are accepted and never answered: each attempt times out after a read
    timeout of 1 s; the page deadline of 2.5 s ends the retries, well before the 7 attempts
    (1 + max_retries) the transport alone would make."""
    import socket

    accepted = []
    with socket.create_server(("127.0.0.1", 0), backlog=16) as silent:
        def accept():
            while True:
                try:
                    accepted.append(silent.accept()[0])
                except OSError:
                    return
        threading.Thread(target=accept, daemon=True).start()
        client = AgencyApiClient(f"http://127.0.0.1:{silent.getsockname()[1]}", {"A": "t"}, read_timeout_seconds=1,
                                 page_deadline_seconds=2.5, backoff_factor=0)
        started = time.monotonic()
        with pytest.raises(SourceError, match=r"agency A, day 2025-03-04, page 1: deadline exceeded \(2.5 s for a page"):
            list(client.dossier_pages("A", datetime(2025, 3, 4), datetime(2025, 3, 5), FetchStats()))
        elapsed = time.monotonic() - started
    assert 1 <= len(accepted) < 1 + client.limits.max_retries
    assert elapsed < BOUND_SECONDS
    for connection in accepted:
        connection.close()

"""The server under load, on loopback only, bounded in count and time: 200 simultaneous downloads
are all served in full; 50 clients that trickle their headers delay nobody and are cut off at the
header deadline. (The old http.server answered 87 of 200 and let slow clients hold a thread each.)"""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from pipelines.lib.release.checksums import read_sums

DOWNLOADS = 200
SLOW_CLIENTS = 50
HEADER_TIMEOUT = 5.0  # the server's deadline for a request's headers, shortened for the test


def test_200_concurrent_downloads_are_all_served(http_server, pipeline_run):
    name = "kpi_processed_records.csv"
    expected = read_sums(pipeline_run.open_dir / "releases" / "1.0.0")[name]
    url = f"{http_server}/releases/1.0.0/{name}"

    def download(_):
        with requests.get(url, timeout=60) as response:
            return response.status_code, response.headers["ETag"], len(response.content)

    size = (pipeline_run.open_dir / "releases" / "1.0.0" / name).stat().st_size
    with ThreadPoolExecutor(max_workers=DOWNLOADS) as pool:
        results = list(pool.map(download, range(DOWNLOADS)))
    assert results == [(200, f'"sha256-{expected}"', size)] * DOWNLOADS


def still_open(sock: socket.socket) -> bool:
    """True when the server has neither answered nor closed: nothing to read, right now."""
    sock.setblocking(False)
    try:
        sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True
    finally:
        sock.settimeout(10)
    return False


def test_slow_clients_do_not_delay_others_and_are_cut_off(pipeline_run):
    from pipelines.serve.server import serve

    running = serve(pipeline_run.open_dir, port=0, quiet=True, header_timeout=HEADER_TIMEOUT)
    host, port = running.url.removeprefix("http://").split(":")
    slow = []
    try:
        for _ in range(SLOW_CLIENTS):
            sock = socket.create_connection((host, int(port)), timeout=10)
            sock.sendall(b"GET /releases.json HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
            slow.append(sock)
        for _ in range(20):  # others are answered while the slow ones still hold their connections
            assert requests.get(f"{running.url}/releases/1.0.0/kpi_scores.csv", timeout=HEADER_TIMEOUT).status_code == 200
        assert all(still_open(sock) for sock in slow)
        deadline = time.monotonic() + HEADER_TIMEOUT + 10
        closed = 0
        for sock in slow:  # each is disconnected at the header deadline, without a response
            sock.settimeout(max(deadline - time.monotonic(), 0.1))
            closed += sock.recv(1) == b""
        assert closed == SLOW_CLIENTS
    finally:
        for sock in slow:
            sock.close()
        running.stop()

from datetime import datetime

import pytest
import requests

from simulator import Simulation, start_server

NOW = datetime(2025, 1, 8, 0, 0, 0)
AGENCIES = ["000.00.00.G12", "000.00.00.G01", "000.00.00.G15", "000.00.00.H24", "000.00.00.H38",
            "000.00.00.H14", "000.00.00.H12", "000.00.00.H23"]


@pytest.fixture(scope="session")
def sim():
    return Simulation(seed=42, scale=0.01, faults="none", now=NOW, agencies=AGENCIES, variants="v1")


@pytest.fixture(scope="session")
def served(sim):
    server, url = start_server(sim)
    yield sim, url
    server.shutdown()
    server.server_close()


def fetch(url: str, path: str, token: str | None = None, tries: int = 5, **params):
    """GET with retries the way a careful client does it: returns (final response, attempts).

    attempts is a list of (status or "dropped", body bytes) for every try, in order."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    attempts = []
    for _ in range(tries):
        try:
            r = requests.get(url + path, params=params, headers=headers, timeout=30)
        except requests.ConnectionError:
            attempts.append(("dropped", b""))
            continue
        attempts.append((r.status_code, r.content))
        if r.status_code in (429, 500, 502, 503):
            continue
        if r.headers.get("Content-Type", "").startswith("application/json"):
            try:
                r.json()
            except ValueError:
                continue
        elif r.status_code == 200 and r.headers.get("X-Total-Count") is not None:
            if not r.content.endswith(b"\r\n"):       # a CSV page cut short
                continue
        return r, attempts
    raise AssertionError(f"no good response after {tries} tries: {[a[0] for a in attempts]}")


def fetch_window(url, code, token, f, t, size=500):
    """All pages of a window: (pages of (response, attempts))."""
    pages, tok = [], None
    while True:
        params = {"updated_from": f, "updated_to": t, "page_size": size}
        if tok:
            params["page_token"] = tok
        r, attempts = fetch(url, f"/api/v1/agencies/{code}/dossiers", token, **params)
        pages.append((r, attempts))
        if r.headers.get("Content-Type", "").startswith("text/csv"):
            tok = r.headers.get("X-Next-Page-Token")
        else:
            tok = r.json()["next_page_token"]
        if not tok:
            return pages


@pytest.fixture(scope="session")
def client():
    class C:
        get = staticmethod(fetch)
        window = staticmethod(fetch_window)
    return C

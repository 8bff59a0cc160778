"""Fixtures for the operations tests: a webhook receiver on loopback, and data-directory writers."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipelines.cluster.services import postgres_server
from pipelines.lib import paths
from pipelines.lib.ingest import PARTITION_SCHEMA
from pipelines.lib.landing import partition_path, write_parquet_atomic
from pipelines.lib.reference import AGENCY_SCHEMA

# A chat-style webhook carries its secret in the path: it must never appear in a log line.
WEBHOOK_SECRET = "T0KEN-s3cret-9f8e7d"


@dataclass
class Receiver:
    """Every JSON body POSTed to the webhook; answers `status` (set 500 to simulate an outage)."""

    url: str = ""
    status: int = 200
    bodies: list[dict] = field(default_factory=list)
    attempts: int = 0


@pytest.fixture(scope="module")
def postgres():
    """A throwaway PostgreSQL on 127.0.0.1 (Debian's package; `make test` installs it): its DAGSTER_PG_* environment."""
    with postgres_server() as env:
        yield env


@pytest.fixture
def webhook(monkeypatch):
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            receiver.attempts += 1
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if receiver.status < 300:
                receiver.bodies.append(body)
            self.send_response(receiver.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/{WEBHOOK_SECRET}"
    monkeypatch.setenv("EGOV_ALERT_WEBHOOK_URL", receiver.url)
    yield receiver
    server.shutdown()
    server.server_close()


def agency(code: str, valid_from: date | None = None, valid_to: date | None = None, name: str | None = None) -> dict:
    return {
        "agency_code": code, "name_vi": name or code, "name_en": name or code,
        "agency_level": "province" if ".H" in code else "ministry", "gso_province_code": None,
        "valid_from": valid_from, "valid_to": valid_to, "successor_code": None,
    }


def write_registry(agencies: list[dict]) -> None:
    write_parquet_atomic(agencies, AGENCY_SCHEMA, paths.agencies_file())


def write_agency_day(code: str, day: date, source_total: int, validated: bool = True) -> None:
    """The manifest of a landed agency-day (and of its validated copy), as ingestion writes them."""
    row = {"agency_code": code, "day": day, "source_total": source_total, "received": source_total,
           "landed": source_total, "quarantined": 0, "duplicates": 0, "content_sha256": "0" * 64}
    roots = [paths.raw_dossiers_root()] + ([paths.validated_partitions_root()] if validated else [])
    for root in roots:
        write_parquet_atomic([row], PARTITION_SCHEMA, partition_path(root, day, code, paths.PARTITION_FILE))

"""The download server: persistent URLs, `latest` as a redirect, content types, ETag and
Last-Modified, ranges, only GET and HEAD, and nothing outside the release root."""

from __future__ import annotations

import hashlib
import http.client
from urllib.parse import urlsplit

import pytest
import requests

from pipelines.lib.release.checksums import read_sums

TYPES = {
    "kpi_processed_records.csv": "text/csv; charset=utf-8",
    "kpi_processed_records.excel.csv": "text/csv; charset=utf-8",
    "kpi_processed_records.parquet": "application/vnd.apache.parquet",
    "kpi_processed_records.json": "application/json",
    "datapackage.json": "application/json",
    "dcat.jsonld": "application/ld+json",
}


def raw(base: str, method: str, path: str, headers: dict | None = None) -> http.client.HTTPResponse:
    """A request with the path sent exactly as written (no client-side normalisation)."""
    address = urlsplit(base)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    connection.request(method, path, headers=headers or {})
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


def test_versioned_files_with_types_etag_and_last_modified(http_server, pipeline_run):
    release = pipeline_run.open_dir / "releases" / "1.0.0"
    sums = read_sums(release)
    for name, content_type in TYPES.items():
        response = requests.get(f"{http_server}/releases/1.0.0/{name}", timeout=10)
        assert response.status_code == 200 and response.headers["Content-Type"] == content_type
        assert response.content == (release / name).read_bytes()
        assert response.headers["ETag"] == f'"sha256-{sums[name]}"' == f'"sha256-{hashlib.sha256(response.content).hexdigest()}"'
        assert response.headers["Last-Modified"].endswith("GMT") and "immutable" in response.headers["Cache-Control"]


def test_latest_redirects_to_the_current_version(http_server):
    response = requests.get(f"{http_server}/latest/kpi_scores.csv", allow_redirects=False, timeout=10)
    assert response.status_code == 302 and response.headers["Location"] == "/releases/1.0.0/kpi_scores.csv"
    followed = requests.get(f"{http_server}/latest/kpi_scores.csv", timeout=10)
    assert followed.status_code == 200 and followed.url.endswith("/releases/1.0.0/kpi_scores.csv")


def test_conditional_requests_answer_304(http_server):
    url = f"{http_server}/releases/1.0.0/kpi_scores.parquet"
    first = requests.get(url, timeout=10)
    again = requests.get(url, headers={"If-None-Match": first.headers["ETag"]}, timeout=10)
    assert again.status_code == 304 and again.content == b""
    since = requests.get(url, headers={"If-Modified-Since": first.headers["Last-Modified"]}, timeout=10)
    assert since.status_code == 304
    other = requests.get(url, headers={"If-None-Match": '"sha256-0"'}, timeout=10)
    assert other.status_code == 200


def test_ranges(http_server, pipeline_run):
    url = f"{http_server}/releases/1.0.0/kpi_processed_records.csv"
    content = (pipeline_run.open_dir / "releases" / "1.0.0" / "kpi_processed_records.csv").read_bytes()
    size = len(content)
    part = requests.get(url, headers={"Range": "bytes=10-19"}, timeout=10)
    assert part.status_code == 206 and part.content == content[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{size}"
    tail = requests.get(url, headers={"Range": "bytes=-7"}, timeout=10)
    assert tail.status_code == 206 and tail.content == content[-7:]
    rest = requests.get(url, headers={"Range": f"bytes={size - 3}-"}, timeout=10)
    assert rest.status_code == 206 and rest.content == content[-3:]
    outside = requests.get(url, headers={"Range": f"bytes={size}-"}, timeout=10)
    assert outside.status_code == 416 and outside.headers["Content-Range"] == f"bytes */{size}"
    stale = requests.get(url, headers={"Range": "bytes=0-0", "If-Range": '"sha256-0"'}, timeout=10)
    assert stale.status_code == 200 and stale.content == content


def test_head_has_the_headers_and_no_body(http_server, pipeline_run):
    response = raw(http_server, "HEAD", "/releases/1.0.0/dcat.jsonld")
    assert response.status == 200 and response.body == b""
    assert int(response.headers["Content-Length"]) == (pipeline_run.open_dir / "releases/1.0.0/dcat.jsonld").stat().st_size


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND", "BREW"])
def test_only_get_and_head(http_server, method):
    response = raw(http_server, method, "/releases/1.0.0/kpi_scores.csv")
    assert response.status == 405 and response.headers["Allow"] == "GET, HEAD"


@pytest.mark.parametrize("path", [
    "/releases/1.0.0/../../releases.json",
    "/releases/1.0.0/../../../../etc/passwd",
    "/../../etc/passwd",
    "/latest/../releases.json",
    "/releases/1.0.0/%2e%2e/%2e%2e/releases.json",
    "/releases/1.0.0/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/releases/1.0.0/..%2f..%2f.publish.lock",
    "/releases/1.0.0/%252e%252e%252fdatapackage.json",
    "/releases/1.0.0/..\\..\\releases.json",
    "/static/..%2f..%2fserver.py",
    "/static/%2e%2e/server.py",
    "/releases/1.0.0/%00datapackage.json",
    "//etc/passwd",
])
def test_nothing_outside_the_release_root(http_server, path):
    response = raw(http_server, "GET", path)
    assert response.status == 404
    assert b"root:" not in response.body and b"import" not in response.body


@pytest.mark.parametrize("path", ["/releases/", "/releases/1.0.0/", "/releases/1.0.0", "/latest/", "/latest", "/static/", "/.publish.lock"])
def test_no_directory_listings(http_server, path):
    assert raw(http_server, "GET", path).status == 404


def test_unknown_release_and_file(http_server):
    assert raw(http_server, "GET", "/releases/9.9.9/datapackage.json").status == 404
    assert raw(http_server, "GET", "/releases/1.0.0/nothing.csv").status == 404

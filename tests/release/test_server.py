"""The download server: persistent URLs, `latest` as a redirect, content types, ETag and
Last-Modified, ranges, only GET and HEAD, nothing outside the release root; an answer to every
odd request, CORS for reads, gzip for text, no banner, no request smuggled through a body."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import re
import shutil
import socket
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


def test_a_backwards_range_is_ignored_not_refused(http_server, pipeline_run):
    # RFC 9110 14.2: a range whose last byte is before its first is invalid and ignored.
    content = (pipeline_run.open_dir / "releases" / "1.0.0" / "kpi_scores.csv").read_bytes()
    response = requests.get(f"{http_server}/releases/1.0.0/kpi_scores.csv", headers={"Range": "bytes=50-10"}, timeout=10)
    assert response.status_code == 200 and response.content == content


@pytest.mark.parametrize("path,headers,status", [
    ("/releases/1.0.0/" + "a" * 8000 + ".csv", {}, 404),
    ("/releases/1.0.0/kpi_scores.csv", {"Range": "bytes=" + "9" * 5000 + "-"}, 200),  # not a range we parse: whole file
    ("/releases/1.0.0/kpi_scores.csv", {"Range": "bytes=" + "9" * 25 + "-"}, 416),
    ("/releases/1.0.0/kpi_scores.csv", {"If-Modified-Since": "Mon, 01 Jan 99999 00:00:00 GMT"}, 200),
])
def test_odd_requests_get_an_answer(http_server, path, headers, status):
    assert raw(http_server, "GET", path, headers).status == status


def test_a_symlink_out_of_the_tree_is_not_followed(pipeline_run, tmp_path):
    from pipelines.serve.server import serve

    root = tmp_path / "open"
    shutil.copytree(pipeline_run.open_dir, root, symlinks=True)
    (tmp_path / "secret.txt").write_text("root:secret")
    (root / "releases" / "1.0.0" / "secret.txt").symlink_to(tmp_path / "secret.txt")
    running = serve(root, port=0, quiet=True)
    try:
        response = raw(running.url, "GET", "/releases/1.0.0/secret.txt")
        assert response.status == 404 and b"secret" not in response.body
    finally:
        running.stop()


def test_an_internal_error_is_a_500_with_a_body(pipeline_run, tmp_path):
    from pipelines.serve.server import serve

    root = tmp_path / "open"
    shutil.copytree(pipeline_run.open_dir, root, symlinks=True)
    (root / "releases.json").write_text("{ not json")  # what the release handler reads first
    running = serve(root, port=0, quiet=True)
    try:
        response = raw(running.url, "GET", "/releases/1.0.0/kpi_scores.csv")
        assert response.status == 500 and response.body  # an answer, not a dropped connection
        assert raw(running.url, "GET", "/latest/kpi_scores.csv").status == 302  # and the server lives on
    finally:
        running.stop()


def test_no_version_banner(http_server):
    response = raw(http_server, "GET", "/releases/1.0.0/datapackage.json")
    assert "server" not in {k.lower() for k in response.headers.keys()}


def test_cors_for_reads(http_server):
    origin = {"Origin": "https://example.org"}
    response = requests.get(f"{http_server}/releases/1.0.0/kpi_scores.csv", headers=origin, timeout=10)
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]
    preflight = raw(http_server, "OPTIONS", "/releases/1.0.0/kpi_scores.csv",
                    {**origin, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "Range"})
    assert preflight.status == 200 and preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"] and "POST" not in preflight.headers["Access-Control-Allow-Methods"]
    writing = raw(http_server, "OPTIONS", "/releases/1.0.0/kpi_scores.csv", {**origin, "Access-Control-Request-Method": "PUT"})
    assert writing.status == 400


def test_gzip_for_text_but_not_for_ranges(http_server, pipeline_run):
    content = (pipeline_run.open_dir / "releases" / "1.0.0" / "kpi_processed_records.json").read_bytes()
    url = f"{http_server}/releases/1.0.0/kpi_processed_records.json"
    whole = raw(http_server, "GET", "/releases/1.0.0/kpi_processed_records.json", {"Accept-Encoding": "gzip"})
    assert whole.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in whole.headers["Vary"]
    assert gzip.decompress(whole.body) == content and len(whole.body) < len(content) / 3
    assert whole.headers["ETag"] == f'"sha256-{hashlib.sha256(content).hexdigest()}"'  # still the file's checksum
    part = requests.get(url, headers={"Range": "bytes=0-99", "Accept-Encoding": "gzip"}, timeout=10)
    assert part.status_code == 206 and "Content-Encoding" not in part.headers and part.content == content[:100]
    parquet = raw(http_server, "GET", "/releases/1.0.0/kpi_scores.parquet", {"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in parquet.headers  # already compressed (zstd): sent as is


def test_a_request_smuggled_in_a_body_gets_no_answer(http_server):
    """A POST whose body is another request: one 405, the body read as body, then the next real request."""
    address = urlsplit(http_server)
    smuggled = b"GET /releases.json HTTP/1.1\r\nHost: x\r\n\r\n"
    stream = (b"POST /releases/1.0.0/kpi_scores.csv HTTP/1.1\r\nHost: x\r\nContent-Length: " + str(len(smuggled)).encode()
              + b"\r\n\r\n" + smuggled + b"GET /latest/kpi_scores.csv HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(stream)
        received = b""
        while chunk := sock.recv(65536):  # the server closes after the last request (Connection: close)
            received += chunk
    statuses = re.findall(rb"^HTTP/1\.1 (\d{3})", received, flags=re.MULTILINE)
    assert statuses == [b"405", b"302"], received[:2000]

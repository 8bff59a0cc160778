"""Serve `data/open/` over HTTP: the catalogue page at `/`, every release at a persistent URL.

    /                          the catalogue page (static files from pipelines/serve/static)
    /releases.json             the release index
    /releases/<version>/<file> a file of a release: immutable, cached for a year
    /latest/<file>             302 to /releases/<current version>/<file>

`latest` is a redirect, not a copy: a client always lands on the versioned URL it can keep,
and two files fetched through the same redirect target come from the same release.
Only GET and HEAD; no directory listings; nothing outside the release root. ETags are the
files' SHA-256, with Last-Modified, conditional requests and single byte ranges.
"""

from __future__ import annotations

import hashlib
import os
import re
from email.utils import formatdate, parsedate_to_datetime
from functools import lru_cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pipelines.lib.release.checksums import SUMS_FILE, read_sums
from pipelines.lib.release.versioning import INDEX_FILE, LATEST, RELEASES_DIR, WITHDRAWN, read_index

STATIC_DIR = Path(__file__).parent / "static"
CONTENT_TYPES = {
    ".csv": "text/csv; charset=utf-8",
    ".parquet": "application/vnd.apache.parquet",
    ".json": "application/json",
    ".jsonld": "application/ld+json",
    ".md": "text/markdown; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
PLAIN_TEXT = "text/plain; charset=utf-8"
VERSION = r"\d+\.\d+\.\d+"
NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"
ROUTES = [
    (re.compile(rf"^/{RELEASES_DIR}/(?P<version>{VERSION})/(?P<name>{NAME})$"), "release"),
    (re.compile(rf"^/{LATEST}/(?P<name>{NAME})$"), "latest"),
    (re.compile(rf"^/static/(?P<name>{NAME})$"), "static"),
    (re.compile(rf"^/{re.escape(INDEX_FILE)}$"), "index"),
    (re.compile(r"^/(index\.html)?$"), "page"),
]
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def content_type(path: Path) -> str:
    return PLAIN_TEXT if path.name == SUMS_FILE else CONTENT_TYPES.get(path.suffix, "application/octet-stream")


@lru_cache(maxsize=1024)
def _file_sha256(path: str, mtime_ns: int, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class Handler(BaseHTTPRequestHandler):
    """One request: route, refuse what is not allowed, then send the file (or part of it)."""

    root: Path  # set by make_server
    quiet = False
    server_version = "vn-egov-kpi-open-data"
    protocol_version = "HTTP/1.1"

    def __getattr__(self, name: str):
        # Every method other than GET and HEAD is answered 405, not http.server's 501.
        if name.startswith("do_"):
            return self._not_allowed
        raise AttributeError(name)

    def _not_allowed(self) -> None:
        self._error(HTTPStatus.METHOD_NOT_ALLOWED, "only GET and HEAD", {"Allow": "GET, HEAD"})

    def do_GET(self) -> None:
        self._serve(body=True)

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def log_message(self, format, *args) -> None:
        if not self.quiet:
            super().log_message(format, *args)

    def _error(self, status: HTTPStatus, message: str, headers: dict | None = None) -> None:
        body = f"{status.value} {status.phrase}: {message}\n".encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", PLAIN_TEXT)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _route(self) -> tuple[str, dict] | None:
        raw = urlsplit(self.path).path
        path = unquote(raw)
        if "\\" in path or "\x00" in path or any(part in ("..", ".") for part in path.split("/")) or "//" in path:
            return None
        for pattern, kind in ROUTES:
            match = pattern.match(path)
            if match:
                return kind, match.groupdict()
        return None

    def _serve(self, body: bool) -> None:
        routed = self._route()
        if routed is None:
            return self._error(HTTPStatus.NOT_FOUND, "no such file")
        kind, params = routed
        root = self.root
        if kind == "latest":
            target = root / LATEST
            if not target.is_symlink():
                return self._error(HTTPStatus.NOT_FOUND, "no release published yet")
            version = Path(os.readlink(target)).name
            location = f"/{RELEASES_DIR}/{version}/{params['name']}"
            self.send_response(HTTPStatus.FOUND)
            self.send_header("Location", location)
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if kind == "release":
            index = read_index(root)
            entry = next((r for r in index["releases"] if r["version"] == params["version"]), None)
            if entry is None:
                return self._error(HTTPStatus.NOT_FOUND, "no such release")
            if entry["status"] == WITHDRAWN:
                return self._error(HTTPStatus.GONE, f"release {entry['version']} was withdrawn: {entry.get('withdrawal_reason', '')}")
            path = root / RELEASES_DIR / params["version"] / params["name"]
        elif kind == "static":
            path = STATIC_DIR / params["name"]
        elif kind == "index":
            path = root / INDEX_FILE
        else:
            path = STATIC_DIR / "index.html"
        base = STATIC_DIR if kind in ("static", "page") else root
        resolved = path.resolve()
        if not resolved.is_file() or not resolved.is_relative_to(base.resolve()):
            return self._error(HTTPStatus.NOT_FOUND, "no such file")
        self._send_file(resolved, kind, body)
        return None

    def _etag(self, path: Path, kind: str) -> str:
        stat = path.stat()
        digest = None
        if kind == "release" and path.name != SUMS_FILE:
            digest = read_sums(path.parent).get(path.name)
        return f'"sha256-{digest or _file_sha256(str(path), stat.st_mtime_ns, stat.st_size)}"'

    def _send_file(self, path: Path, kind: str, body: bool) -> None:
        stat = path.stat()
        size = stat.st_size
        etag = self._etag(path, kind)
        headers = {
            "ETag": etag,
            "Last-Modified": formatdate(stat.st_mtime, usegmt=True),
            "Accept-Ranges": "bytes",
            "Cache-Control": "public, max-age=31536000, immutable" if kind == "release" else "no-cache",
            "X-Content-Type-Options": "nosniff",
        }
        if self._not_modified(etag, stat.st_mtime):
            self.send_response(HTTPStatus.NOT_MODIFIED)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            return
        start, end = 0, size - 1
        status = HTTPStatus.OK
        wanted = self.headers.get("Range")
        if wanted and self.headers.get("If-Range", etag) == etag:
            match = RANGE.match(wanted.strip())
            if match and (match.group(1) or match.group(2)):
                first, last = match.groups()
                if first:
                    start, end = int(first), min(int(last), size - 1) if last else size - 1
                else:
                    start, end = max(size - int(last), 0), size - 1
                if start >= size or start > end or (not first and int(last) == 0):
                    return self._error(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, "range outside the file",
                                       {"Content-Range": f"bytes */{size}", **headers})
                status = HTTPStatus.PARTIAL_CONTENT
                headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", content_type(path))
        self.send_header("Content-Length", str(end - start + 1 if size else 0))
        self.end_headers()
        if body and size:
            with open(path, "rb") as fh:
                fh.seek(start)
                remaining = end - start + 1
                while remaining > 0:
                    chunk = fh.read(min(1 << 16, remaining))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    remaining -= len(chunk)

    def _not_modified(self, etag: str, mtime: float) -> bool:
        match = self.headers.get("If-None-Match")
        if match is not None:
            return match.strip() == "*" or etag in [m.strip().removeprefix("W/") for m in match.split(",")]
        since = self.headers.get("If-Modified-Since")
        if since:
            try:
                return int(mtime) <= parsedate_to_datetime(since).timestamp()
            except (TypeError, ValueError):
                return False
        return False


def make_server(root: Path, host: str = "127.0.0.1", port: int = 8000, quiet: bool = False) -> ThreadingHTTPServer:
    """An HTTP server for `root` (the open-data directory); port 0 picks a free one."""
    handler = type("OpenDataHandler", (Handler,), {"root": Path(root), "quiet": quiet})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server

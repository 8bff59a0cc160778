"""Release files over HTTP: persistent URLs, `latest` as a redirect, ETag/Last-Modified/304, Range.

    /releases.json             the release index
    /releases/<version>/<file> a file of a release: immutable, cached for a year
    /latest/<file>             302 to /releases/<current version>/<file>
    /static/<file>             the catalogue page's script and style

`latest` is a redirect, not a copy: a client always lands on the versioned URL it can keep, and
two files fetched through the same redirect target come from the same release. No listings;
nothing outside the release root (every path component is matched by a strict pattern, and the
resolved file must lie inside its root, so a symlink out of the tree is refused too). ETags are
the files' SHA-256, from SHA256SUMS where the release has it.
"""

from __future__ import annotations

import hashlib
import os
import re
from email.utils import formatdate, parsedate_to_datetime
from functools import lru_cache
from pathlib import Path

import anyio
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

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
    ".sqlite": "application/vnd.sqlite3",
}
PLAIN_TEXT = "text/plain; charset=utf-8"
VERSION = r"\d{1,6}\.\d{1,6}\.\d{1,6}"
NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}"  # a longer name is no file of ours: 404, not an error
RANGE = re.compile(r"^bytes=(\d{0,30})-(\d{0,30})$")  # 30 digits: past any file size, never a 5,000-digit int
CHUNK = 1 << 16
YEAR = "public, max-age=31536000, immutable"


def content_type(path: Path) -> str:
    return PLAIN_TEXT if path.name == SUMS_FILE else CONTENT_TYPES.get(path.suffix, "application/octet-stream")


def not_found(message: str = "no such file") -> PlainTextResponse:
    return PlainTextResponse(f"404 Not Found: {message}\n", status_code=404)


@lru_cache(maxsize=1024)
def _file_sha256(path: str, mtime_ns: int, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def etag_of(path: Path, release: bool) -> str:
    stat = path.stat()
    digest = read_sums(path.parent).get(path.name) if release and path.name != SUMS_FILE else None
    return f'"sha256-{digest or _file_sha256(str(path), stat.st_mtime_ns, stat.st_size)}"'


def byte_range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """The single range asked for, as (first, last) inclusive; None to send the whole file (no
    header, or one we ignore as RFC 9110 says: malformed, several ranges, last < first);
    "unsatisfiable" when it starts past the end."""
    match = RANGE.match((header or "").strip())
    if not match or not (match.group(1) or match.group(2)):
        return None
    first, last = match.groups()
    if first:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
        if last and int(last) < start:
            return None
        return "unsatisfiable" if start >= size else (start, end)
    suffix = int(last)
    return "unsatisfiable" if suffix == 0 or size == 0 else (max(size - suffix, 0), size - 1)


def not_modified(request: Request, etag: str, mtime: float) -> bool:
    match = request.headers.get("if-none-match")
    if match is not None:
        return match.strip() == "*" or etag in [m.strip().removeprefix("W/") for m in match.split(",")]
    since = request.headers.get("if-modified-since")
    if since:
        try:
            return int(mtime) <= parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError, OverflowError):
            return False
    return False


class FileSlice(Response):
    """A file, or one byte range of it, streamed in chunks (HEAD: headers only)."""

    def __init__(self, path: Path, start: int, end: int, status_code: int, headers: dict[str, str], send_body: bool):
        super().__init__(status_code=status_code, headers=headers, media_type=content_type(path))
        self.headers["content-length"] = str(end - start + 1 if end >= start else 0)
        self.path, self.start, self.end, self.send_body = path, start, end, send_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        if not self.send_body or self.end < self.start:
            await send({"type": "http.response.body", "body": b""})
            return
        async with await anyio.open_file(self.path, "rb") as fh:
            await fh.seek(self.start)
            remaining = self.end - self.start + 1
            while remaining > 0:
                chunk = await fh.read(min(CHUNK, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": remaining > 0})
        if remaining > 0:  # the file shrank under us: end the body rather than hang
            await send({"type": "http.response.body", "body": b""})


def send_file(request: Request, path: Path, base: Path, release: bool) -> Response:
    """`path` if it is a regular file inside `base`, with conditional requests and ranges."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        return not_found()
    if not resolved.is_relative_to(base.resolve()) or not resolved.is_file():
        return not_found()
    stat = resolved.stat()
    etag = etag_of(resolved, release)
    headers = {
        "etag": etag,
        "last-modified": formatdate(stat.st_mtime, usegmt=True),
        "accept-ranges": "bytes",
        "cache-control": YEAR if release else "no-cache",
        "x-content-type-options": "nosniff",
    }
    if not_modified(request, etag, stat.st_mtime):
        return Response(status_code=304, headers=headers)
    body = request.method != "HEAD"
    size = stat.st_size
    wanted = byte_range(request.headers.get("range"), size) if request.headers.get("if-range", etag) == etag else None
    if wanted == "unsatisfiable":
        return PlainTextResponse("416 Range Not Satisfiable: range outside the file\n", status_code=416,
                                 headers={**headers, "content-range": f"bytes */{size}"})
    if wanted is None:
        return FileSlice(resolved, 0, size - 1, 200, headers, body)
    start, end = wanted
    return FileSlice(resolved, start, end, 206, {**headers, "content-range": f"bytes {start}-{end}/{size}"}, body)


def release_file(request: Request, root: Path) -> Response:
    version, name = request.path_params["version"], request.path_params["name"]
    entry = next((r for r in read_index(root)["releases"] if r["version"] == version), None)
    if entry is None:
        return not_found("no such release")
    if entry["status"] == WITHDRAWN:
        return PlainTextResponse(f"410 Gone: release {version} was withdrawn: {entry.get('withdrawal_reason', '')}\n", status_code=410)
    return send_file(request, root / RELEASES_DIR / version / name, root / RELEASES_DIR / version, release=True)


def current_version(root: Path) -> str | None:
    """The version `latest` points at, read from the link itself (switched atomically)."""
    target = root / LATEST
    return Path(os.readlink(target)).name if target.is_symlink() else None


def latest_file(request: Request, root: Path) -> Response:
    version = current_version(root)
    if version is None:
        return not_found("no release published yet")
    return RedirectResponse(f"/{RELEASES_DIR}/{version}/{request.path_params['name']}", status_code=302,
                            headers={"cache-control": "no-cache"})


def index_file(request: Request, root: Path) -> Response:
    return send_file(request, root / INDEX_FILE, root, release=False)


def static_file(request: Request, root: Path) -> Response:
    return send_file(request, STATIC_DIR / request.path_params["name"], STATIC_DIR, release=False)


ROUTES = [
    (re.compile(rf"^/{RELEASES_DIR}/(?P<version>{VERSION})/(?P<name>{NAME})$"), release_file),
    (re.compile(rf"^/{LATEST}/(?P<name>{NAME})$"), latest_file),
    (re.compile(rf"^/static/(?P<name>{NAME})$"), static_file),
    (re.compile(rf"^/{re.escape(INDEX_FILE)}$"), index_file),
]


def route(path: str):
    """The handler and its parameters for a decoded path, or None: anything with an empty,
    `.` or `..` component, a backslash or a NUL matches nothing."""
    if "\\" in path or "\x00" in path or "//" in path or any(part in ("..", ".") for part in path.split("/")):
        return None
    for pattern, handler in ROUTES:
        match = pattern.match(path)
        if match:
            return handler, match.groupdict()
    return None

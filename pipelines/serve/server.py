"""The open-data server (`make serve`): releases, the catalogue page and the query API, on
Starlette and uvicorn.

    /                          the catalogue page (page.py), rendered from the current release
    /releases.json, /releases/<version>/<file>, /latest/<file>, /static/<file>   files.py
    /api/…                     the query API (api.py: Datasette over each release's database)

What wraps every request, outermost first:
- CORS for reads: any origin may GET/HEAD (a browser app elsewhere can fetch a CSV); a
  preflight OPTIONS is answered, any other method is 405 with `Allow: GET, HEAD`;
- gzip over 1 kB when the client accepts it (not Parquet, compressed already), never on a Range
  request (a byte range is of the file, not of its compressed form);
- a 500 with a body, never a dropped connection, when a handler fails.
And in uvicorn (`run_config`): no `Server` banner, a cap on concurrent connections (503 past
it), a keep-alive timeout, and a deadline for a request's headers (`HeaderDeadline`), so slow
clients cannot hold connections for ever. uvicorn's h11 parser reads a refused request's body
as body: a POST whose body is another request gets one answer, not two.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from pipelines.serve import files
from pipelines.serve.api import PREFIX, QueryAPI
from pipelines.serve.page import CataloguePage

ALLOWED = ("GET", "HEAD")
EXPOSED = ["ETag", "Last-Modified", "Content-Length", "Content-Range", "Accept-Ranges", "Link",
           "X-Max-Page-Size", "X-Default-Page-Size", "X-Query-Time-Limit-Ms"]
MAX_CONNECTIONS = 1000
HEADER_TIMEOUT = 10.0  # seconds for a client to send a request's line and headers
KEEP_ALIVE = 5


class OpenData:
    """The ASGI app itself: routes a request to the page, a file or the API."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.page = CataloguePage(self.root)
        self.api = QueryAPI(self.root)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            message = await receive()
            while message["type"] != "lifespan.shutdown":
                await send({"type": message["type"] + ".complete"})
                message = await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        path = scope["path"]
        if path.startswith(PREFIX) or path == PREFIX.rstrip("/"):
            await self.api(scope, receive, send)
            return
        request = Request(scope, receive)
        if path in ("/", "/index.html"):
            response = HTMLResponse(await asyncio.to_thread(self.page.render), headers={"cache-control": "no-cache"})
        else:
            routed = files.route(path)  # already percent-decoded, once, by the server
            if routed is None:
                response = files.not_found()
            else:
                handler, params = routed
                scope["path_params"] = params
                response = await asyncio.to_thread(handler, request, self.root)
        await response(scope, receive, send)


async def method_not_allowed(scope: Scope, receive: Receive, send: Send) -> None:
    await PlainTextResponse("405 Method Not Allowed: only GET and HEAD\n", status_code=405, headers={"allow": "GET, HEAD"})(scope, receive, send)


def reads_only(app: ASGIApp) -> ASGIApp:
    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in ALLOWED:
            await method_not_allowed(scope, receive, send)
        else:
            await app(scope, receive, send)
    return guarded


def compressed(app: ASGIApp) -> ASGIApp:
    """gzip for whole responses only, never for a byte range. The ETag stays the file's SHA-256
    (what SHA256SUMS lists, and what consumers check), with `Vary: Accept-Encoding` beside it."""
    gzip = GZipMiddleware(app, minimum_size=1024, exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, "application/vnd.apache.parquet"))

    async def choose(scope: Scope, receive: Receive, send: Send) -> None:
        ranged = scope["type"] == "http" and any(k == b"range" for k, _ in scope.get("headers", []))
        await (app if ranged else gzip)(scope, receive, send)
    return choose


def create_app(root: Path) -> ASGIApp:
    """The whole server for an open-data folder, middleware included."""
    app = ServerErrorMiddleware(compressed(OpenData(root)), debug=False)
    app = reads_only(app)
    return CORSMiddleware(app, allow_origins=["*"], allow_methods=list(ALLOWED), allow_headers=["Range", "If-None-Match",
                          "If-Modified-Since", "If-Range"], expose_headers=EXPOSED, max_age=86400)


class HeaderDeadline(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for each request's headers: a client that has
    not sent a whole request line and headers within HEADER_TIMEOUT of connecting (or of its
    previous response) is disconnected. uvicorn itself only times out idle keep-alive."""

    header_timeout = HEADER_TIMEOUT

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm()

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(self.header_timeout, self._expire)

    def _expire(self) -> None:
        waiting = self.cycle is None or self.cycle.response_complete
        if waiting and not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.cycle is not None and not self.cycle.response_complete:
            self._deadline.cancel()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._deadline.cancel()
        self._arm()

    def connection_lost(self, exc) -> None:
        self._deadline.cancel()
        super().connection_lost(exc)


def run_config(root: Path, host: str, port: int, quiet: bool = False, header_timeout: float = HEADER_TIMEOUT,
               max_connections: int = MAX_CONNECTIONS) -> uvicorn.Config:
    protocol = type("OpenDataProtocol", (HeaderDeadline,), {"header_timeout": header_timeout})
    return uvicorn.Config(create_app(root), host=host, port=port, http=protocol, lifespan="off", server_header=False,
                          limit_concurrency=max_connections, backlog=2048, timeout_keep_alive=KEEP_ALIVE,
                          log_level="warning" if quiet else "info", access_log=not quiet)


@dataclass
class RunningServer:
    """A server started in a thread (tests, `make ui`'s docs); `stop()` ends it."""

    server: uvicorn.Server
    thread: threading.Thread
    url: str

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_in_thread(config: uvicorn.Config) -> RunningServer:
    """Bind first (port 0 picks a free one), then serve in a daemon thread until stopped."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((config.host, config.port))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="open-data-server")
    thread.start()
    while not server.started and thread.is_alive():
        threading.Event().wait(0.02)
    host, port = sock.getsockname()[:2]
    return RunningServer(server, thread, f"http://{host}:{port}")


def serve(root: Path, host: str = "127.0.0.1", port: int = 0, quiet: bool = False, **limits) -> RunningServer:
    """The open-data server for `root` in a background thread."""
    return start_in_thread(run_config(root, host, port, quiet, **limits))

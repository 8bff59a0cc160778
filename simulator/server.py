"""HTTP front of the simulator: stdlib ThreadingHTTPServer on loopback.

Routes and error semantics are the contract in docs/source-api.md. The handler only parses,
authenticates and serialises; what to serve comes from the Simulation, and how it is
mangled (payload variant, injected faults) from variants.py / faults.py.
"""
from __future__ import annotations

import json
import sys
import threading
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from .calendar import parse_compact
from .simulation import DEFAULT_PAGE_SIZE, BadRequest, Simulation

API = "/api/v1/agencies"


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, sim: Simulation, quiet: bool = True):
        super().__init__(addr, Handler)
        self.sim = sim
        self.quiet = quiet


class Handler(BaseHTTPRequestHandler):
    server: SimServer
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # noqa: D401 - quiet unless asked
        if not self.server.quiet:
            sys.stderr.write("sim: " + fmt % args + "\n")

    # ----------------------------------------------------------------- responses ---
    def send_body(self, status: int, body: bytes, ctype: str = "application/json; charset=utf-8",
                  headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status: int, obj, headers: dict | None = None) -> None:
        self.send_body(status, dumps(obj), headers=headers)

    def error(self, status: int, message: str, headers: dict | None = None) -> None:
        self.send_json(status, {"error": message}, headers=headers)

    # -------------------------------------------------------------------- routing ---
    def do_GET(self):  # noqa: N802
        try:
            self.route()
        except BadRequest as e:
            self.error(400, str(e))
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as e:  # pragma: no cover - a bug: say so rather than hang the client
            self.error(500, f"internal error: {type(e).__name__}: {e}")

    def route(self):
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        q = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        sim = self.server.sim
        if path == "/health":
            return self.send_json(200, {"status": "ok"})
        if path == API:
            items = sim.agencies()
            return self.send_json(200, {"items": items, "total": len(items)})
        if not path.startswith(API + "/"):
            return self.error(404, "not found")
        parts = path[len(API) + 1:].split("/")
        if len(parts) != 2 or parts[1] not in ("procedures", "dossiers"):
            return self.error(404, "not found")
        code = unquote(parts[0])
        if not sim.has_agency(code):
            return self.error(404, f"unknown agency {code}")
        auth = self.headers.get("Authorization", "")
        if auth != f"Bearer {sim.token(code)}":
            return self.error(401, "missing or invalid bearer token",
                              headers={"WWW-Authenticate": 'Bearer realm="sim"'})
        if parts[1] == "procedures":
            return self.procedures(code, q)
        return self.dossiers(code, q)

    def procedures(self, code: str, q: dict):
        sim = self.server.sim
        try:
            as_of = date.fromisoformat(q["as_of"]) if q.get("as_of") else sim.now.date()
        except ValueError:
            raise BadRequest("as_of must be YYYY-MM-DD") from None
        items = sim.procedures(code, as_of)
        self.send_json(200, {"MaDonVi": code, "as_of": as_of.isoformat(), "total": len(items), "items": items})

    def dossiers(self, code: str, q: dict):
        sim = self.server.sim
        f, t = _window(q)
        try:
            size = int(q.get("page_size") or DEFAULT_PAGE_SIZE)
        except ValueError:
            raise BadRequest("page_size must be an integer") from None
        items, total, nxt = sim.page(code, f, t, size, q.get("page_token") or None)
        self.send_json(200, {"MaDonVi": code, "total": total, "items": items, "next_page_token": nxt})


def _window(q: dict) -> tuple[datetime, datetime]:
    for k in ("updated_from", "updated_to"):
        if not q.get(k):
            raise BadRequest(f"{k} is required (yyyyMMddHHmmss)")
    try:
        f, t = parse_compact(q["updated_from"]), parse_compact(q["updated_to"])
    except ValueError as e:
        raise BadRequest(str(e)) from None
    if t < f:
        raise BadRequest("updated_to is before updated_from")
    return f, t


def dumps(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def start_server(sim: Simulation, host: str = "127.0.0.1", port: int = 0, quiet: bool = True):
    """Serve `sim` from a background thread; returns (server, base_url). Stop: server.shutdown()."""
    server = SimServer((host, port), sim, quiet=quiet)
    th = threading.Thread(target=server.serve_forever, name="simulator-http", daemon=True)
    th.start()
    h, p = server.server_address[:2]
    return server, f"http://{h}:{p}"

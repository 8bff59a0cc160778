"""HTTP front of the simulator: stdlib ThreadingHTTPServer on loopback.

Routes and error semantics are the contract in docs/source-api.md. The handler only parses,
authenticates and serialises; what to serve comes from the Simulation, and how it is
mangled (payload variant, injected faults) from variants.py / faults.py.
"""
from __future__ import annotations

import socket
import sys
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from . import api
from .simulation import BadRequest, Simulation

API = "/api/v1/agencies"
FAULTS = "/sim/faults"   # the fault log so far (?agency=&day=), for tests outside the process
MIRROR = "/mirror"


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
    def send(self, r: api.Response) -> None:
        if r.drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.send_response(r.status)
        self.send_header("Content-Type", r.content_type)
        if r.padding:   # no length: the body ends when the connection does
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(r.body)))
        for k, v in r.headers.items():
            self.send_header(k, v)
        self.end_headers()
        if r.drip:
            for i in range(len(r.body)):
                self.wfile.write(r.body[i:i + 1])
                time.sleep(r.drip)
        else:
            self.wfile.write(r.body)
        blank = b" " * 2**20
        for _ in range(r.padding // len(blank)):
            self.wfile.write(blank)

    # -------------------------------------------------------------------- routing ---
    def do_GET(self):  # noqa: N802
        try:
            self.send(self.route())
        except BadRequest as e:
            self.send(api.error(400, str(e)))
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as e:  # pragma: no cover - a bug: say so rather than hang the client
            self.send(api.error(500, f"internal error: {type(e).__name__}: {e}"))

    def route(self) -> api.Response:
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        q = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        sim = self.server.sim
        if path == "/health":
            return api.Response(200, api.dumps({"status": "ok"}))
        if path == FAULTS:
            items = sim.injected_faults(q.get("agency") or None, q.get("day") or None)
            return api.Response(200, api.dumps({"items": items, "total": len(items)}))
        if path.startswith(MIRROR + API + "/"):
            return self.mirror(path[len(MIRROR):], q)
        if path == API:
            fault = self.transport(None, None)
            if fault is not None:
                return fault
            items = sim.agencies()
            return api.Response(200, api.dumps({"items": items, "total": len(items)}))
        if not path.startswith(API + "/"):
            return api.error(404, "not found")
        parts = path[len(API) + 1:].split("/")
        if len(parts) != 2 or parts[1] not in ("procedures", "dossiers"):
            return api.error(404, "not found")
        code = unquote(parts[0])
        if not sim.has_agency(code):
            return api.error(404, f"unknown agency {code}")
        if self.headers.get("Authorization", "") != f"Bearer {sim.token(code)}":
            return api.error(401, "missing or invalid bearer token", {"WWW-Authenticate": 'Bearer realm="sim"'})
        if parts[1] == "procedures":
            try:
                as_of = date.fromisoformat(q["as_of"]) if q.get("as_of") else sim.now.date()
            except ValueError:
                raise BadRequest("as_of must be YYYY-MM-DD") from None
            fault = self.transport(code, as_of.isoformat()) or self.hostile(code, "procedures", as_of.isoformat())
            if fault is not None:
                return fault
            items = sim.procedures(code, as_of)
            return api.Response(200, api.dumps({"MaDonVi": code, "as_of": as_of.isoformat(),
                                                "total": len(items), "items": items}))
        api.window_params(q)   # 400 before any simulated failure
        day = f"{q['updated_from'][:4]}-{q['updated_from'][4:6]}-{q['updated_from'][6:8]}"
        attempt = self.server.sim.attempts.next(self.path) if sim.fault_profile else 1
        fault = api.transport_fault(sim, self.path, attempt, code, day)
        if fault is not None and not fault.delay:
            return fault
        if fault is not None:
            time.sleep(fault.delay)
        return self.hostile(code, "dossiers", day) or api.dossiers(sim, code, q, self.path, attempt)

    def hostile(self, code: str, endpoint: str, day: str) -> api.Response | None:
        """Profile hostile: the agency's misbehaviour that replaces its answer, if it has one.
        Its redirect goes to another origin of this same server (localhost instead of 127.0.0.1)."""
        port = self.server.server_address[1]
        return api.hostile_answer(self.server.sim, code, endpoint, self.path, day, f"http://localhost:{port}")

    def mirror(self, path: str, q: dict) -> api.Response:
        """The "foreign host" a hostile redirect points to: the agency's page without a token, as
        a copy elsewhere would serve it; a client that follows the redirect would land it."""
        parts = path[len(API) + 1:].split("/")
        if len(parts) != 2 or parts[1] != "dossiers" or not self.server.sim.has_agency(unquote(parts[0])):
            return api.error(404, "not found")
        api.window_params(q)
        return api.dossiers(self.server.sim, unquote(parts[0]), q, self.path[len(MIRROR):], 1)

    def transport(self, code: str | None, day: str | None) -> api.Response | None:
        sim = self.server.sim
        if "flaky" not in sim.fault_profile:
            return None
        attempt = sim.attempts.next(self.path)
        fault = api.transport_fault(sim, self.path, attempt, code, day)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
            return None
        return fault


def start_server(sim: Simulation, host: str = "127.0.0.1", port: int = 0, quiet: bool = True):
    """Serve `sim` from a background thread; returns (server, base_url). Stop: server.shutdown()."""
    server = SimServer((host, port), sim, quiet=quiet)
    th = threading.Thread(target=server.serve_forever, name="simulator-http", daemon=True)
    th.start()
    h, p = server.server_address[:2]
    return server, f"http://{h}:{p}"

"""Command line: `python -m simulator serve|truth ...`."""
from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime
from pathlib import Path


def _off(values: list[str]) -> dict[str, date]:
    out = {}
    for v in values or []:
        code, _, d = v.partition("@")
        if not d:
            raise SystemExit(f"--off expects CODE@YYYY-MM-DD, got {v!r}")
        out[code] = date.fromisoformat(d)
    return out


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--scale", type=float, default=0.01)
    p.add_argument("--faults", default="none", help="none | flaky | dirty | drift | hostile, or several joined by commas")
    p.add_argument("--variants", default="mixed", help="mixed (per agency, default) or v1|v2|v3|v4 for all")
    p.add_argument("--drift-from", type=date.fromisoformat, default=None, help="drift start date (default: 2 days before now)")
    p.add_argument("--now", type=datetime.fromisoformat, default=None,
                   help="fixed clock, local time (e.g. 2025-01-08T00:00:00); default: wall clock")
    p.add_argument("--agencies", default=None, help="comma-separated agency codes to simulate (default all)")
    p.add_argument("--off", action="append", default=[], metavar="CODE@YYYY-MM-DD",
                   help="switch an agency off from a date (repeatable)")
    p.add_argument("--cache-mb", type=int, default=512, help="memory for cached receive days (MB)")
    p.add_argument("--window-cache-mb", type=int, default=256, help="memory for cached window indexes (MB)")
    p.add_argument("--page-cache-mb", type=int, default=0,
                   help="memory for served pages of closed windows, sent again as they are (MB; 0: none)")


def _sim(a):
    from .simulation import Simulation
    agencies = a.agencies.split(",") if a.agencies else None
    return Simulation(seed=a.seed, scale=a.scale, faults=a.faults, now=a.now, agencies=agencies, off=_off(a.off),
                      variants=a.variants, drift_from=a.drift_from, cache_bytes=a.cache_mb * 2**20,
                      window_cache_bytes=a.window_cache_mb * 2**20, page_cache_bytes=a.page_cache_mb * 2**20)


def _fault_log(url: str, agencies: list[str], days: list[date]) -> list[dict]:
    """The served fault log (GET /sim/faults), for each agency and day asked (all if none)."""
    import requests

    from .server import FAULTS

    out = []
    for agency in agencies or [None]:
        for day in days or [None]:
            params = {"agency": agency, "day": day.isoformat() if day else None}
            response = requests.get(url.rstrip("/") + FAULTS, params=params, timeout=30)
            response.raise_for_status()
            out += response.json()["items"]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="serve the agency API over HTTP")
    _common(s)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    s.add_argument("--tokens-file", type=Path, default=None, help="write {MaDonVi: token} JSON here")
    s.add_argument("--port-file", type=Path, default=None, help="write the actual port here")
    s.add_argument("--verbose", action="store_true", help="log every request to stderr")
    t = sub.add_parser("truth", help="print ground-truth counts per agency and receive day, or the faults a "
                                     "running simulator injected (JSON)")
    _common(t)
    t.add_argument("--agency", action="append", default=[], help="agency code (repeatable; default all valid)")
    t.add_argument("--day", action="append", default=[], type=date.fromisoformat,
                   help="receive day (repeatable; required for the counts)")
    t.add_argument("--fault-log", metavar="URL", default=None,
                   help="instead of counts: every fault the simulator serving at URL has injected so far, "
                        "optionally for the --agency and --day given")
    a = ap.parse_args(argv)
    if a.cmd == "truth" and a.fault_log:
        json.dump(_fault_log(a.fault_log, a.agency, a.day), sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return 0
    if a.cmd == "truth" and not a.day:
        ap.error("truth: --day is required for the counts")
    sim = _sim(a)
    if a.cmd == "truth":
        out = []
        for d in a.day:
            for code in a.agency or sim.agency_codes(d):
                out.append(sim.counts(code, d))
        json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return 0
    from .server import SimServer
    if a.tokens_file:
        a.tokens_file.parent.mkdir(parents=True, exist_ok=True)
        a.tokens_file.write_text(json.dumps(sim.tokens(), indent=1), encoding="utf-8")
    server = SimServer((a.host, a.port), sim, quiet=not a.verbose)
    host, port = server.server_address[:2]
    if a.port_file:
        a.port_file.parent.mkdir(parents=True, exist_ok=True)
        a.port_file.write_text(str(port), encoding="utf-8")
    print(f"simulator: serving http://{host}:{port} seed={a.seed} scale={a.scale} faults={a.faults} "
          f"now={a.now.isoformat() if a.now else 'wall-clock'}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0

"""Benchmark: dossiers per second the simulator serves on loopback at national scale.

Starts `python -m simulator serve --scale 1.0` as a child process (so client and server do
not share an interpreter), then a plain `requests` loop fetches one day's window for every
agency valid that day, page by page (page_size 5000), and counts items. Each run is timed;
the first run of a day is "cold" (the server generates the receive days the window needs,
up to 80 days back), later runs of the same day are "warm" (window indexes cached), and the
next day is "next-day" (most receive days still cached, as in a daily backfill).

    .venv/bin/python bench/bench_simulator.py [--scale 1.0] [--runs 3] [--day 2025-01-06]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]


def fetch_day(base: str, tokens: dict, day: date, agencies: list[str], size: int) -> tuple[int, int, int]:
    """(items, bytes, requests) for one day window over all agencies."""
    f = day.strftime("%Y%m%d000000")
    t = (day + timedelta(days=1)).strftime("%Y%m%d000000")
    items = nbytes = calls = 0
    s = requests.Session()
    for code in agencies:
        tok = None
        while True:
            p = {"updated_from": f, "updated_to": t, "page_size": size}
            if tok:
                p["page_token"] = tok
            r = s.get(f"{base}/api/v1/agencies/{code}/dossiers", params=p,
                      headers={"Authorization": f"Bearer {tokens[code]}"}, timeout=600)
            r.raise_for_status()
            calls += 1
            nbytes += len(r.content)
            if r.headers["Content-Type"].startswith("text/csv"):
                items += max(r.content.count(b"\r\n") - 1, 0)   # rows (cells hold no CRLF)
                tok = r.headers.get("X-Next-Page-Token")
            else:
                body = r.json()
                items += len(body["items"])
                tok = body["next_page_token"]
            if not tok:
                break
    return items, nbytes, calls


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--runs", type=int, default=3, help="runs of the same day (first is cold)")
    ap.add_argument("--day", type=date.fromisoformat, default=date(2025, 1, 6))
    ap.add_argument("--page-size", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--cache-mb", type=int, default=4096)
    ap.add_argument("--out", type=Path, default=None, help="also write the figures as JSON here")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="simbench-"))
    now = (a.day + timedelta(days=3)).isoformat() + "T00:00:00"
    cmd = [sys.executable, "-m", "simulator", "serve", "--port", "0", "--seed", str(a.seed),
           "--scale", str(a.scale), "--now", now, "--tokens-file", str(tmp / "tokens.json"),
           "--port-file", str(tmp / "port"), "--cache-mb", str(a.cache_mb), "--window-cache-mb", "2048"]
    proc = subprocess.Popen(cmd, cwd=REPO)
    try:
        while not (tmp / "port").exists() or not (tmp / "port").read_text():
            if proc.poll() is not None:
                raise SystemExit("simulator did not start")
            time.sleep(0.1)
        base = f"http://127.0.0.1:{(tmp / 'port').read_text()}"
        tokens = json.loads((tmp / "tokens.json").read_text())
        reg = requests.get(base + "/api/v1/agencies", timeout=60).json()["items"]

        def valid(d):
            iso = d.isoformat()
            return [x["MaDonVi"] for x in reg if x["HieuLucTu"] <= iso and (x["HieuLucDen"] is None or iso <= x["HieuLucDen"])]

        results = []
        for label, d in [("cold", a.day)] + [("warm", a.day)] * (a.runs - 1) + [("next-day", a.day + timedelta(days=1))]:
            agencies = valid(d)
            t0 = time.perf_counter()
            n, nbytes, calls = fetch_day(base, tokens, d, agencies, a.page_size)
            dt = time.perf_counter() - t0
            results.append({"run": label, "day": d.isoformat(), "agencies": len(agencies), "dossiers": n,
                            "requests": calls, "mb": round(nbytes / 2**20, 1), "seconds": round(dt, 2),
                            "dossiers_per_s": round(n / dt)})
            print(f"{label:9s} {d} agencies={len(agencies)} dossiers={n} requests={calls} "
                  f"MB={nbytes / 2**20:.0f} {dt:.1f}s -> {n / dt:,.0f} dossiers/s", flush=True)
        med = statistics.median(r["dossiers_per_s"] for r in results)
        print(f"median over {len(results)} runs: {med:,.0f} dossiers/s "
              f"(scale {a.scale}, page_size {a.page_size}, seed {a.seed})")
        if a.out:
            a.out.write_text(json.dumps({"scale": a.scale, "runs": results, "median_dossiers_per_s": med}, indent=1))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())

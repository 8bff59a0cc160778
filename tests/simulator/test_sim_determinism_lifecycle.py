"""Same seed, same bytes; and lifecycle invariants of the generated dossiers."""
from datetime import date, datetime

import requests

from simulator import Simulation, start_server
from simulator.calendar import calendar

NOW = datetime(2025, 1, 8)
AGENCIES = ["000.00.00.G12", "000.00.00.G01", "000.00.00.G15", "000.00.00.H24", "000.00.00.H38",
            "000.00.00.H14", "000.00.00.H12", "000.00.00.H23"]

DAYS = [date(2024, 12, 30), date(2025, 1, 2), date(2025, 1, 4), date(2025, 1, 6)]


def _bytes(sim, code, client):
    """Every byte of every attempt a retrying client sees, faults included."""
    server, url = start_server(sim)
    try:
        out = [a for a in client.get(url, "/api/v1/agencies")[1]]
        out += client.get(url, f"/api/v1/agencies/{code}/procedures", sim.token(code), as_of="2024-05-01")[1]
        for code_, f, size in ((code, "20250102000000", 50), ("000.00.00.G12", "20250106120000", 500)):
            for _, attempts in client.window(url, code_, sim.token(code_), f, "20250107000000", size):
                out += attempts
        return out
    finally:
        server.shutdown()
        server.server_close()


def _sim(seed):
    return Simulation(seed=seed, scale=0.01, now=NOW, agencies=AGENCIES, faults="flaky,dirty,drift",
                      slow_seconds=0.05)


def test_same_seed_same_bytes(client):
    a_sim, b_sim = _sim(7), _sim(7)
    a = _bytes(a_sim, "000.00.00.H24", client)
    b = _bytes(b_sim, "000.00.00.H24", client)
    assert a == b and len(a) > 10
    assert a_sim.injected_faults() == b_sim.injected_faults() != []
    c = _bytes(_sim(8), "000.00.00.H24", client)
    assert c != a


def test_tokens_deterministic(sim):
    other = Simulation(seed=42, scale=0.5, now=NOW)
    assert sim.token("000.00.00.G12") == other.token("000.00.00.G12")
    assert len(sim.token("000.00.00.G12")) == 32
    assert sim.token("000.00.00.G12") != sim.token("000.00.00.G01")


def test_lifecycle_invariants(sim):
    cal = calendar()
    n = 0
    statuses = set()
    for code in AGENCIES:
        for d in DAYS:
            for x in sim.dossiers(code, d):
                n += 1
                statuses.add(x.final_status)
                assert x.received_day == d == x.submitted.date()
                assert x.code.startswith(f"{code}-{d:%y%m%d}-")
                times = [e[1] for e in x.events]
                assert times == sorted(times) and len(set(times)) == len(times)
                assert x.events[0][0] == 1 and x.events[-1][0] == x.final_status
                assert 1 <= x.final_status <= 10
                assert (x.events[-1][1] - x.submitted).days < 80
                if x.channel != 2:
                    assert cal.working(x.submitted.date())
                if x.accepted:
                    assert x.submitted <= x.accepted
                    assert cal.working(x.due.date())
                    assert x.due > x.accepted
                    assert x.ended is None or x.accepted <= x.ended
                    assert cal.working_days_between(x.accepted.date(), x.due.date()) == x.procedure_days
                else:
                    assert x.final_status == 3 and x.due is None and x.refused is not None
                if x.final_status == 10:
                    assert x.returned and x.ended <= x.returned
                if x.paid_online:
                    assert x.fee > 0 and x.fee_paid_at is not None
                for s in x.supplements:
                    assert s.requested > x.accepted
                    if s.received:
                        assert s.received > s.requested and s.due_after >= s.due_before
                        waited = cal.working_days_between(s.requested.date(), s.received.date())
                        assert cal.working_days_between(s.due_before.date(), s.due_after.date()) == waited
                if x.channel_reported is None:
                    assert x.channel == 1
    assert n > 1000
    assert {3, 7, 8, 9, 10} <= statuses


def test_mix_is_plausible(sim):
    ds = [x for code in AGENCIES for x in sim.dossiers(code, date(2025, 1, 6))]
    online = sum(x.channel == 2 for x in ds) / len(ds)
    assert 0.3 < online < 0.8
    done = [x for x in ds if x.completed]
    on_time = sum(bool(x.on_time) for x in done) / len(done)
    assert 0.75 < on_time < 0.97
    assert any(len(x.supplements) == 2 for x in ds)
    weekend = sum(len(sim.dossiers(c, date(2025, 1, 4))) for c in AGENCIES)
    assert weekend < 0.5 * len(ds)


def test_truth_counts_cli(capsys):
    from simulator.cli import main
    main(["truth", "--seed", "42", "--scale", "0.01", "--agency", "000.00.00.H24", "--day", "2025-01-06"])
    import json
    out = json.loads(capsys.readouterr().out)
    sim = Simulation(seed=42, scale=0.01)
    assert out[0]["received"] == len(sim.dossiers("000.00.00.H24", date(2025, 1, 6)))


def test_handling_happens_in_office_hours(sim):
    from datetime import time
    cal = calendar()
    for code in ("000.00.00.G12", "000.00.00.H24"):
        for d in (date(2025, 1, 3), date(2025, 1, 4)):
            for x in sim.dossiers(code, d):
                for k, (_, at, _) in enumerate(x.events):
                    if k == 0 and x.channel == 2:
                        continue        # online submissions arrive at any hour, any day
                    assert cal.working(at.date()) and time(7, 30) <= at.time() <= time(17, 1), (x.code, at)


def test_same_output_across_processes():
    """No dependence on Python's per-process hash seed or on process state."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    cmd = [sys.executable, "-m", "simulator", "truth", "--seed", "11", "--scale", "0.01",
           "--agency", "000.00.00.H24", "--agency", "000.00.00.G08", "--day", "2024-03-05", "--day", "2024-03-09"]
    root = Path(__file__).resolve().parents[2]
    outs = [subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": h}).stdout for h in ("1", "2")]
    assert outs[0] == outs[1] and '"received"' in outs[0]

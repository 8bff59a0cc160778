"""Benchmark: dossier versions per second the raw_dossiers Great Expectations suite validates.

Builds one agency-day as ingestion lands it (the simulator's window parsed by the pipeline's
own parser, no HTTP), replicates it to --rows rows with distinct dossier codes (so the
uniqueness rule holds as on real data), malforms --bad-share of them the way the `dirty`
profile does (unknown status, negative fee), then times `validate_frame` on the whole frame
(median of --runs) and the quarantine split that follows it; then the same rows as an
Arrow-backed frame (pd.ArrowDtype), which the suite's type rules cannot read (issue 18).

    .venv/bin/python bench/bench_validation.py [--rows 1000000] [--runs 3] [--bad-share 0.01] [--out FILE.json]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402

from pipelines.lib.expectations import validate_frame  # noqa: E402
from pipelines.lib.columnar import parse_records  # noqa: E402
from pipelines.lib.validation import split_rows  # noqa: E402

AGENCY = "000.00.00.G12"
DAY = date(2025, 3, 4)


def landed_day(scale: float) -> pa.Table:
    from simulator import Simulation

    sim = Simulation(seed=42, scale=scale, faults="none", now=datetime(2025, 3, 6))
    start = datetime.combine(DAY, datetime.min.time())
    rows, _ = parse_records(sim.window(AGENCY, start, start + timedelta(days=1)), AGENCY, DAY, b"bench-key")
    return rows


def replicated(day: pa.Table, rows: int) -> pa.Table:
    """`rows` rows: copies of the day, each copy's dossier codes suffixed so versions stay unique."""
    copies = []
    for n in range(-(-rows // day.num_rows)):
        codes = pc.binary_join_element_wise(day.column("dossier_code"), pa.scalar(f"{n:03d}"), "")
        copies.append(day.set_column(day.schema.get_field_index("dossier_code"), "dossier_code", codes))
    return pa.concat_tables(copies).slice(0, rows).combine_chunks()


def malformed(frame, share: float, seed: int = 1):
    """Unknown statuses on half the chosen rows, negative fees on the other half."""
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(frame), size=int(len(frame) * share), replace=False)
    half = len(chosen) // 2
    frame.loc[chosen[:half], "status"] = 11
    frame.loc[chosen[half:], "fee_amount_vnd"] = -frame.loc[chosen[half:], "fee_amount_vnd"].abs() - 1
    return frame


def timed(frame, runs: int) -> tuple[list[float], object]:
    """`validate_frame` on `frame` `runs` times (after one small call: the GX import and the suite)."""
    validate_frame(frame.head(100), "raw_dossiers")
    seconds, outcome = [], None
    for run in range(runs):
        started = time.perf_counter()
        outcome = validate_frame(frame, "raw_dossiers")
        seconds.append(time.perf_counter() - started)
    return seconds, outcome


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--bad-share", type=float, default=0.01)
    ap.add_argument("--scale", type=float, default=0.05, help="simulator scale of the day that is replicated")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    import pandas as pd

    day = landed_day(args.scale)
    table = replicated(day, args.rows)
    result = {"rows": table.num_rows, "replicated_from": day.num_rows}
    failures = {}
    # The frame GX is given today (NumPy-backed), and the same rows Arrow-backed (pd.ArrowDtype).
    for backing, mapper in (("numpy", None), ("arrow", pd.ArrowDtype)):
        started = time.perf_counter()
        frame = table.to_pandas(types_mapper=mapper)
        to_pandas_seconds = time.perf_counter() - started
        frame = malformed(frame, args.bad_share)
        seconds, outcome = timed(frame, args.runs)
        median = statistics.median(seconds)
        result[backing] = {
            "to_pandas_seconds": round(to_pandas_seconds, 3), "expectations": outcome.evaluated,
            "failed_expectations": [f.name for f in outcome.failures],
            "observed_types": {f.column: f.sample[0] for f in outcome.failures if "of_type" in f.expectation},
            "rows_flagged": len({row for f in outcome.failures for row in f.rows}),
            "runs_seconds": [round(s, 3) for s in seconds], "median_seconds": round(median, 3),
            "rows_per_second": round(len(frame) / median),
        }
        print(f"{backing}: validate_frame on {len(frame):,} rows, {outcome.evaluated} expectations: median "
              f"{median:.2f} s ({len(frame) / median:,.0f} rows/s), to_pandas {to_pandas_seconds:.2f} s; "
              f"{len(outcome.failures)} expectations failed", flush=True)
        failures[backing] = outcome.failures
    # The split reads the landed Arrow table whichever frame GX was given; it follows today's findings.
    started = time.perf_counter()
    split = split_rows(table, failures["numpy"], AGENCY, DAY)
    result["quarantine_split_seconds"] = round(time.perf_counter() - started, 3)
    result["quarantined_rows"] = split.removed
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

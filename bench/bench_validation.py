"""Benchmark: dossier versions per second the raw_dossiers Great Expectations suite validates.

Builds one agency-day as ingestion lands it (the simulator's window parsed by the pipeline's
own parser, no HTTP), replicates it to --rows rows with distinct dossier codes (so the
uniqueness rule holds as on real data), malforms --bad-share of them the way the `dirty`
profile does (unknown status, negative fee), then times `validate_frame` on the whole frame
(median of --runs) and the quarantine split that follows it.

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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--bad-share", type=float, default=0.01)
    ap.add_argument("--scale", type=float, default=0.05, help="simulator scale of the day that is replicated")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    day = landed_day(args.scale)
    table = replicated(day, args.rows)
    frame = malformed(table.to_pandas(), args.bad_share)
    validate_frame(frame.head(100), "raw_dossiers")  # the GX import and the suite, once per process
    seconds, outcome = [], None
    for run in range(args.runs):
        started = time.perf_counter()
        outcome = validate_frame(frame, "raw_dossiers")
        seconds.append(time.perf_counter() - started)
        print(f"run {run + 1}: {seconds[-1]:.2f} s")
    started = time.perf_counter()
    split = split_rows(table, outcome.failures, AGENCY, DAY)
    split_seconds = time.perf_counter() - started
    median = statistics.median(seconds)
    result = {
        "rows": len(frame), "replicated_from": day.num_rows, "expectations": outcome.evaluated,
        "failed_expectations": [f.name for f in outcome.failures], "quarantined_rows": split.removed,
        "runs_seconds": [round(s, 3) for s in seconds], "median_seconds": round(median, 3),
        "rows_per_second": round(len(frame) / median), "quarantine_split_seconds": round(split_seconds, 3),
    }
    print(f"validate_frame on {len(frame):,} rows, {outcome.evaluated} expectations: median {median:.2f} s "
          f"({len(frame) / median:,.0f} rows/s); {split.removed:,} rows quarantined, split in {split_seconds:.2f} s")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

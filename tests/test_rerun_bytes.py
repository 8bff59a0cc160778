"""The same days pulled from a well-behaved source and from a flaky one (failed attempts,
dropped connections, slow answers, retried) publish byte-identical files: what lands and what
is computed from it depends on the data, not on how the pulls went or in what order the
threads added things up (kpi_scores sums exact decimals)."""

from datetime import date, datetime

import pytest

from tests.helpers import STAMPED, file_bytes, run_graph

DAYS = [date(2025, 3, 3), date(2025, 3, 4)]
AGENCIES = ["000.00.00.G12", "000.00.00.H29"]


def _compare(runs, folder: str, pattern: str) -> tuple[set, list]:
    """The file names under `folder` of the clean run, and those whose bytes differ in the flaky run."""
    clean, flaky = (file_bytes(runs[f] / folder, pattern) for f in ("none", "flaky"))
    assert clean.keys() == flaky.keys()
    return set(clean), sorted(name for name in clean if clean[name] != flaky[name])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from simulator import Simulation

    out = {}
    for faults in ("none", "flaky"):
        sim = Simulation(seed=15, scale=0.002, faults=faults, now=datetime(2025, 3, 6), slow_seconds=0.2)
        data, report = run_graph(sim, tmp_path_factory.mktemp(f"rerun_{faults}"), DAYS, AGENCIES)
        assert report.kpi_ok and not report.failed, (faults, report)
        out[faults] = data
        if faults == "flaky":
            kinds = {f["kind"] for f in sim.injected_faults()}
            assert kinds & {"http_500", "http_502", "http_503", "http_429", "drop"}, "the flaky source failed some pulls"
    return out


def test_the_validated_files_are_identical(runs):
    names, differing = _compare(runs, "validated", "**/*.parquet")
    assert len(names) >= 3 * len(DAYS) * len(AGENCIES)  # dossiers, procedures, partition
    assert differing == []


def test_the_published_files_are_identical(runs):
    names, differing = _compare(runs, "open/latest", "*")
    assert {"kpi_scores.parquet", "kpi_scores.csv", "kpi_processed_records.parquet"} <= names
    assert [name for name in differing if name not in STAMPED] == []

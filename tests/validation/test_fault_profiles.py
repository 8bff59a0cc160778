"""The checks flag exactly the faults the simulator injected: each recorded fault maps to where
it was caught (ingestion's parse quarantine, the validation quarantine, or a blocking check),
one to one, and clean data raises nothing."""

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.validation.conftest import run_profile

ROWS, PARTITION = "raw_dossiers_expectations", "raw_dossiers_partition_expectations"
DAY1, DAY2 = date(2025, 3, 4), date(2025, 3, 5)
NOW = datetime(2025, 3, 6, 6, 0)
RECORD_KINDS = {"bad_date", "bad_status", "negative_fee", "duplicate"}
DBT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"


def caught_kind(row: dict) -> str:
    """Which simulator fault a quarantined record stands for, from its stage and reason."""
    stage, reason = row["stage"], row["reason"]
    if stage == "parse" and reason.startswith("duplicate"):
        return "duplicate"
    if stage == "parse" and "not a valid timestamp" in reason:
        return "bad_date"
    if stage == "validation" and reason.startswith("expect_column_values_to_be_in_set on status:"):
        return "bad_status"
    if stage == "validation" and reason.startswith("expect_column_values_to_be_between on fee_amount_vnd:"):
        return "negative_fee"
    return f"unexplained {stage}: {reason}"


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    partitions = [(c, d) for c in ("000.00.00.G12", "000.00.00.H29", "000.00.00.G03") for d in (DAY1, DAY2)]
    return run_profile(tmp_path_factory.mktemp("clean"), partitions, faults="none", seed=5, scale=0.02, now=NOW)


@pytest.fixture(scope="module")
def dirty(tmp_path_factory):
    partitions = [(c, d) for c in ("000.00.00.G12", "000.00.00.H29", "000.00.00.G03") for d in (DAY1, DAY2)]
    return run_profile(tmp_path_factory.mktemp("dirty"), partitions, faults="dirty", seed=5, scale=0.05, now=NOW)


@pytest.fixture(scope="module")
def drift(tmp_path_factory):
    # G02 and G06 drift from DAY2 under this seed; H29 does not drift at all.
    partitions = [(c, d) for c in ("000.00.00.G02", "000.00.00.G06", "000.00.00.H29") for d in (DAY1, DAY2)]
    run = run_profile(tmp_path_factory.mktemp("drift"), partitions, faults="drift", seed=5, scale=0.02, now=NOW,
                      drift_from=DAY2)
    assert {c for c, _ in partitions if run.sim.drift(c)} == {"000.00.00.G02", "000.00.00.G06"}
    return run


def test_clean_data_raises_nothing_and_is_published_as_landed(clean):
    assert clean.failed == []
    for code, day in clean.partitions:
        assert clean.quarantine(code, day) == [], (code, day)
        for name in (ROWS, PARTITION, "procedure_catalogue_expectations"):
            evaluation = clean.check(name, code, day)
            assert evaluation.passed, (name, code, day, evaluation.failures)
        raw = clean.partition_file("raw", "dossiers", code, day, "dossiers.parquet")
        validated = clean.partition_file("validated", "dossiers", code, day, "dossiers.parquet")
        assert os.path.samefile(raw, validated), "nothing removed: published by hard link"
        assert pq.read_table(raw).num_rows > 0


def test_dirty_record_faults_map_one_to_one_to_quarantined_records(dirty):
    assert dirty.failed == []
    checked = Counter()
    for code, day in dirty.partitions:
        faults = [f for f in dirty.sim.injected_faults(code, day) if f["kind"] in RECORD_KINDS]
        expected = Counter((f["dossier"], f["kind"]) for f in faults)
        caught = Counter((row["dossier_code"], caught_kind(row)) for row in dirty.quarantine(code, day))
        assert caught == expected, (code, day, caught - expected, expected - caught)
        checked.update(kind for _dossier, kind in expected.elements())
    # The comparison covered every kind, each caught where it belongs.
    assert set(checked) == RECORD_KINDS and checked["bad_status"] >= 5 and checked["negative_fee"] >= 5, checked


def test_row_faults_are_caught_by_gx_and_do_not_block(dirty):
    for code, day in dirty.partitions:
        validation = [r for r in dirty.quarantine(code, day) if r["stage"] == "validation"]
        evaluation = dirty.check(ROWS, code, day)
        assert evaluation.quarantined == len(validation)
        if not validation:
            assert evaluation.passed
            continue
        assert not evaluation.passed and evaluation.severity == "WARN", (code, day)
        assert "agency-days had failures and go on" in evaluation.description
        assert "- quarantined: expect_column_values_to_be_in_set on status" in evaluation.failures
        # Samples name the dossier and the offending value, from this agency-day's own rows.
        sample = next(r for r in validation if "on status" in r["reason"])
        assert f"{sample['dossier_code']}: {sample['reason'].rsplit(': ', 1)[1]}" in evaluation.failures
        assert Path(evaluation.data_docs_url.removeprefix("file://")).exists()


def test_validated_holds_exactly_the_rows_that_passed_and_counts_reconcile(dirty):
    for code, day in dirty.partitions:
        landed = pq.read_table(dirty.partition_file("raw", "dossiers", code, day, "dossiers.parquet")).to_pylist()
        validated = pq.read_table(dirty.partition_file("validated", "dossiers", code, day, "dossiers.parquet"))
        validation = [r for r in dirty.quarantine(code, day) if r["stage"] == "validation"]
        removed = {(r["dossier_code"], json.loads(r["record"])["updated_at"]) for r in validation}
        expected = [row for row in landed if (row["dossier_code"], str(row["updated_at"])) not in removed]
        assert validated.to_pylist() == expected
        manifest = pq.read_table(dirty.partition_file("validated", "partitions", code, day, "partition.parquet"))
        counts = manifest.to_pylist()[0]
        assert counts["landed"] == validated.num_rows
        assert counts["source_total"] == counts["landed"] + counts["quarantined"] - counts["duplicates"]
        assert counts["quarantined"] == len(dirty.quarantine(code, day))


def test_transport_faults_are_absorbed_by_ingestion(dirty):
    truncated = [f for code, day in dirty.partitions for f in dirty.sim.injected_faults(code, day)
                 if f["kind"] == "truncated_page"]
    assert truncated, "the profile truncated some pages"
    for fault in truncated:
        day = date.fromisoformat(fault["day"])
        counts = pq.read_table(dirty.partition_file("raw", "dossiers", fault["agency"], day, "partition.parquet"))
        row = counts.to_pylist()[0]
        assert row["source_total"] == row["landed"] + row["quarantined"] - row["duplicates"]


def test_too_many_quarantined_rows_block_the_agency_day(tmp_path, monkeypatch):
    monkeypatch.setenv("EGOV_QUARANTINE_BLOCK_SHARE", "0.001")
    run = run_profile(tmp_path, [("000.00.00.G12", DAY1)], faults="dirty", seed=5, scale=0.05, now=NOW)
    assert run.failed == ["000.00.00.G12 2025-03-04"]
    evaluation = run.check(ROWS, "000.00.00.G12", DAY1)
    assert not evaluation.passed and evaluation.severity == "ERROR"
    assert "more than the 0.1% allowed" in evaluation.failures
    assert not run.partition_file("validated", "dossiers", "000.00.00.G12", DAY1, "dossiers.parquet").exists()


def test_drift_faults_map_one_to_one_to_blocking_schema_failures(drift):
    injected = {(f["agency"], date.fromisoformat(f["day"]), f["kind"])
                for code, day in drift.partitions for f in drift.sim.injected_faults(code, day)}
    flagged = set()
    for code, day in drift.partitions:
        evaluation = drift.check(PARTITION, code, day)
        manifest = pq.read_table(drift.partition_file("raw", "dossiers", code, day, "partition.parquet")).to_pylist()[0]
        if "MaBuuChinh" in json.loads(manifest["unknown_fields"]):
            flagged.add((code, day, "field_added"))
        if "KenhThucHien" in json.loads(manifest["missing_fields"]) and "KenhNop" in json.loads(manifest["unknown_fields"]):
            flagged.add((code, day, "field_renamed"))
        assert evaluation.passed == (manifest["unknown_fields"] == "[]" == manifest["missing_fields"])
    assert flagged == injected and len(injected) == 4


def test_a_blocking_failure_names_expectation_agency_and_day_and_keeps_the_partition_out(drift):
    blocked = {("000.00.00.G02", DAY2), ("000.00.00.G06", DAY2)}
    assert sorted(drift.failed) == sorted(f"{c} {d}" for c, d in blocked)
    for code, day in drift.partitions:
        evaluation = drift.check(PARTITION, code, day)
        validated = drift.partition_file("validated", "dossiers", code, day, "dossiers.parquet")
        if (code, day) in blocked:
            assert not evaluation.passed and evaluation.severity == "ERROR"
            assert f"agency {code}, day {day}: BLOCKED by expect_column_values_to_be_in_set on unknown_fields" \
                in evaluation.description
            assert "- BLOCKING: expect_column_values_to_be_in_set on missing_fields" in evaluation.failures
            assert not validated.exists()
        else:
            assert evaluation.passed and validated.exists()


def test_dbt_never_reads_a_blocked_agency_day(drift, monkeypatch):
    monkeypatch.setenv("EGOV_DATA_DIR", str(drift.data))
    (drift.data / "warehouse").mkdir(exist_ok=True)
    subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "build", "--select", "+kpi_processed_records", "--indirect-selection", "cautious", "--quiet",
         "--profiles-dir", "."],
        cwd=DBT_DIR, check=True,
    )
    with duckdb.connect(str(drift.data / "warehouse" / "kpi.duckdb"), read_only=True) as con:
        versions = set(con.execute("select distinct agency_code, day from stg_dossier_versions").fetchall())
        reported = set(con.execute(
            "select agency_code, period_start from kpi_processed_records "
            "where period = 'day' and geography = 'as_was' and agency_code <> 'VN'"
        ).fetchall())
    published = {(c, d) for c, d in drift.partitions} - {("000.00.00.G02", DAY2), ("000.00.00.G06", DAY2)}
    assert versions == published
    assert reported == published

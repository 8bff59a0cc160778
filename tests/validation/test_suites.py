"""The suites in expectations/, run by the GX runner on real parsed rows: clean rows pass, and each
rule catches the row (or the table) it is about, with the action its meta says."""

import json
from datetime import date, datetime, timedelta

import pandas as pd
import pyarrow as pa
import pytest

from pipelines.lib.expectations import ON_FAILURE, load_suite, render_validation_html, validate_frame
from pipelines.lib.columnar import parse_records
from pipelines.lib.reference import AGENCY_SCHEMA, PROCEDURE_SCHEMA, parse_agency, parse_procedure
from pipelines.lib.validation import split_rows
from pipelines.settings import EXPECTATIONS_DIR

AGENCY = "000.00.00.H29"
DAY = date(2025, 3, 4)
SUITES = sorted(p.stem for p in EXPECTATIONS_DIR.glob("*.json"))


@pytest.fixture(scope="module")
def sim():
    from simulator import Simulation

    return Simulation(seed=7, scale=0.02, faults="none", now=datetime(2025, 3, 6))


@pytest.fixture(scope="module")
def landed(sim) -> pa.Table:
    """One agency-day as ingestion lands it (clean v1 items, parsed)."""
    start = datetime.combine(DAY, datetime.min.time())
    rows, rejected = parse_records(sim.window(AGENCY, start, start + timedelta(days=1)), AGENCY, DAY, b"test-key")
    assert rejected == [] and rows.num_rows > 50
    return rows


def broken(table: pa.Table, row: int, **values) -> pd.DataFrame:
    frame = table.to_pandas()
    for column, value in values.items():
        frame[column] = frame[column].astype(object)
        frame.at[row, column] = value
        frame[column] = frame[column].astype(table.to_pandas()[column].dtype)
    return frame


@pytest.mark.parametrize("suite", SUITES)
def test_every_suite_loads_and_says_what_each_failure_does(suite):
    spec = load_suite(suite)
    assert spec["name"] == suite and spec["expectations"]
    assert {item["meta"]["on_failure"] for item in spec["expectations"]} <= set(ON_FAILURE)


def test_clean_dossiers_pass_every_expectation(landed):
    outcome = validate_frame(landed.to_pandas(), "raw_dossiers")
    assert outcome.failures == [] and outcome.evaluated == len(load_suite("raw_dossiers")["expectations"])


@pytest.mark.parametrize(
    "values, expectation",
    [
        ({"status": 11}, "expect_column_values_to_be_in_set on status"),
        ({"status": 0}, "expect_column_values_to_be_in_set on status"),
        ({"channel": 4}, "expect_column_values_to_be_in_set on channel"),
        ({"online_payment": 3}, "expect_column_values_to_be_in_set on online_payment"),
        ({"fee_amount_vnd": -50000}, "expect_column_values_to_be_between on fee_amount_vnd"),
        ({"dossier_code": "H29-250304-1"}, "expect_column_values_to_match_regex on dossier_code"),
        ({"procedure_code": "TTHC-1"}, "expect_column_values_to_match_regex on procedure_code"),
        (lambda r: {"accepted_at": pd.Timestamp(r["submitted_at"] - timedelta(hours=1))},
         "expect_column_pair_values_a_to_be_greater_than_b on accepted_at,submitted_at"),
        (lambda r: {"due_at": pd.Timestamp(r["accepted_at"] - timedelta(days=1))},
         "expect_column_pair_values_a_to_be_greater_than_b on due_at,accepted_at"),
    ],
)
def test_a_bad_row_is_quarantined_alone_with_the_expectation_and_value(landed, values, expectation):
    row = next(i for i, r in enumerate(landed.to_pylist()) if r["accepted_at"] and r["fee_amount_vnd"] > 0)
    if callable(values):
        values = values(landed.to_pylist()[row])
    outcome = validate_frame(broken(landed, row, **values), "raw_dossiers")
    assert [f.name for f in outcome.failures] == [expectation]
    assert outcome.failures[0].on_failure == "quarantine" and outcome.failures[0].rows == [row]
    split = split_rows(landed, outcome.failures, AGENCY, DAY)
    assert split.positions == [row]
    (quarantined,) = split.quarantine
    assert quarantined["stage"] == "validation" and quarantined["dossier_code"] == landed.column("dossier_code")[row].as_py()
    assert quarantined["reason"].startswith(f"{expectation}: ")
    assert json.loads(quarantined["record"])["updated_at"] == str(landed.column("updated_at")[row].as_py())


def test_a_row_failing_two_rules_is_quarantined_once_with_both_reasons(landed):
    outcome = validate_frame(broken(landed, 3, status=11, channel=9), "raw_dossiers")
    split = split_rows(landed, outcome.failures, AGENCY, DAY)
    assert split.positions == [3]
    assert split.quarantine[0]["reason"] == ("expect_column_values_to_be_in_set on status: 11; "
                                             "expect_column_values_to_be_in_set on channel: 9")


def test_ended_before_accepted_is_impossible_date_order(landed):
    row = next(i for i, r in enumerate(landed.to_pylist()) if r["ended_at"] and r["accepted_at"])
    accepted = landed.column("accepted_at")[row].as_py()
    outcome = validate_frame(broken(landed, row, ended_at=pd.Timestamp(accepted - timedelta(hours=1))), "raw_dossiers")
    assert {f.name for f in outcome.failures} >= {"expect_column_pair_values_a_to_be_greater_than_b on ended_at,accepted_at"}
    assert all(f.rows == [row] for f in outcome.failures)


def test_partition_level_problems_block(landed):
    frame = landed.to_pandas()
    duplicated = validate_frame(pd.concat([frame, frame.iloc[[0]]], ignore_index=True), "raw_dossiers")
    assert [f.name for f in duplicated.blocking_failures] == ["expect_compound_columns_to_be_unique on dossier_code,updated_at"]
    renamed = validate_frame(frame.rename(columns={"channel": "channel_code"}), "raw_dossiers")
    assert "expect_table_columns_to_match_set" in [f.name for f in renamed.blocking_failures]
    retyped = validate_frame(frame.assign(status=frame["status"].astype(str)), "raw_dossiers")
    assert "expect_column_values_to_be_of_type on status" in [f.name for f in retyped.blocking_failures]


def test_null_shares_are_warnings(landed):
    frame = landed.to_pandas()
    frame.loc[: len(frame) // 10, "applicant_type"] = None
    outcome = validate_frame(frame, "raw_dossiers")
    assert [(f.name, f.on_failure) for f in outcome.failures] == [("expect_column_values_to_not_be_null on applicant_type", "warn")]


def test_applicant_hashes_never_reach_samples_or_data_docs(landed):
    frame = broken(landed, 5, status=11)
    frame.loc[:, "applicant_id_hash"] = "not-a-hash"  # any value: it must not be shown
    outcome = validate_frame(frame, "raw_dossiers")
    hashes = {h for h in landed.column("applicant_id_hash").to_pylist() if h} | {"not-a-hash"}
    shown = " ".join(f.describe() for f in outcome.failures) + render_validation_html(outcome)
    assert "11" in outcome.failures[0].describe()
    assert not any(h in shown for h in hashes)


def test_volume_suite_judges_each_agency_day_against_its_own_bounds():
    frame = pd.DataFrame([
        {"agency_code": "000.00.00.H29", "day": DAY, "rows": 100, "volume_min": 95.0, "volume_max": 105.0},
        {"agency_code": "000.00.00.G12", "day": DAY, "rows": 100, "volume_min": 200.0, "volume_max": 300.0},
        {"agency_code": "000.00.00.G03", "day": DAY, "rows": 7, "volume_min": None, "volume_max": None},
    ])
    outcome = validate_frame(frame, "raw_dossiers_volume", key_column="agency_code")
    assert [f.name for f in outcome.part(0, 1).failures] == []
    assert [(f.name, f.on_failure, f.sample) for f in outcome.part(1, 2).failures] == [
        ("expect_column_pair_values_a_to_be_greater_than_b on rows,volume_min", "warn", ["000.00.00.G12: 100, 200.0"])
    ]
    assert outcome.part(2, 3).failures == [], "no bounds yet: not judged"


def test_a_run_validated_once_is_judged_agency_day_by_agency_day(landed):
    """Failures found over a run's rows land on the agency-days whose rows failed, renumbered; a
    `mostly` expectation that passes over the run still fails on the agency-day it fails on."""
    frame = landed.to_pandas()
    clean, bad = frame.iloc[:40].copy(), frame.iloc[40:60].copy()
    bad.loc[bad.index[:2], "status"] = 42
    bad["applicant_type"] = None  # 20 of the run's 420 rows (< 5 %), but every row of this agency-day
    many_clean = pd.concat([clean.assign(updated_at=clean["updated_at"] + pd.Timedelta(seconds=k)) for k in range(10)],
                           ignore_index=True)  # versions a second apart: no duplicate (dossier, version)
    both = pd.concat([many_clean, bad], ignore_index=True)
    outcome = validate_frame(both, "raw_dossiers")
    assert not [f for f in outcome.failures if f.column == "applicant_type"], "5 % of the run's rows is allowed"
    first, second = outcome.part(0, len(many_clean)), outcome.part(len(many_clean), len(both))
    assert first.failures == [] and first.rows == len(many_clean)
    by_name = {f.name: f for f in second.failures}
    status = by_name["expect_column_values_to_be_in_set on status"]
    assert status.rows == [0, 1] and status.unexpected_count == 2
    assert status.sample == [f"{bad['dossier_code'].iloc[0]}: 42", f"{bad['dossier_code'].iloc[1]}: 42"]
    assert by_name["expect_column_values_to_not_be_null on applicant_type"].on_failure == "warn"


def test_manifest_suite_blocks_on_drift_and_on_counts_that_do_not_reconcile():
    from pipelines.lib.validation import with_accounted_total

    manifest = pd.DataFrame([{
        "agency_code": AGENCY, "day": DAY, "source_total": 100, "received": 101, "landed": 97, "quarantined": 4,
        "duplicates": 1, "content_sha256": "0" * 64, "unknown_fields": "[]", "missing_fields": "[]",
    }])
    assert validate_frame(with_accounted_total(manifest), "raw_dossier_partitions", key_column=None).failures == []
    drifted = manifest.assign(unknown_fields='["KenhNop", "MaBuuChinh"]', missing_fields='["KenhThucHien"]')
    outcome = validate_frame(with_accounted_total(drifted), "raw_dossier_partitions", key_column=None)
    assert [(f.name, f.sample, f.blocking) for f in outcome.failures] == [
        ("expect_column_values_to_be_in_set on unknown_fields", ['["KenhNop", "MaBuuChinh"]'], True),
        ("expect_column_values_to_be_in_set on missing_fields", ['["KenhThucHien"]'], True),
    ]
    lost = validate_frame(with_accounted_total(manifest.assign(landed=96)), "raw_dossier_partitions", key_column=None)
    assert [f.name for f in lost.blocking_failures] == ["expect_column_pair_values_to_be_equal on source_total,accounted_total"]


def catalogue(sim) -> pd.DataFrame:
    rows = [parse_procedure(p, AGENCY, DAY) for p in sim.procedures(AGENCY, DAY)]
    return pa.Table.from_pylist(rows, schema=PROCEDURE_SCHEMA).to_pandas()


def test_procedure_catalogue_suite(sim):
    clean = catalogue(sim)
    assert validate_frame(clean, "procedure_catalogue", key_column="procedure_code").failures == []
    twice = validate_frame(pd.concat([clean, clean.iloc[[0]]], ignore_index=True), "procedure_catalogue",
                           key_column="procedure_code")
    assert [f.name for f in twice.blocking_failures] == [
        "expect_compound_columns_to_be_unique on agency_code,day,procedure_code"]
    odd = clean.copy()
    odd.loc[0, "online_level"] = "level_5"
    odd.loc[1, "handling_days"] = 0
    odd.loc[2, "fee_vnd"] = -1
    outcome = validate_frame(odd, "procedure_catalogue", key_column="procedure_code")
    assert {(f.name, f.on_failure) for f in outcome.failures} == {
        ("expect_column_values_to_be_in_set on online_level", "block"),
        ("expect_column_values_to_be_between on handling_days", "warn"),
        ("expect_column_values_to_be_between on fee_vnd", "warn"),
    }
    assert outcome.by_action("block")[0].sample == [f"{clean.loc[0, 'procedure_code']}: level_5"]


def test_agency_registry_suite(sim):
    rows = [parse_agency(a) for a in sim.agencies()]
    frame = pa.Table.from_pylist(rows, schema=AGENCY_SCHEMA).to_pandas()

    def failures(f):
        outcome = validate_frame(f, "agency_registry", key_column="agency_code",
                                 parameters={"agency_codes": sorted(f["agency_code"])})
        return [x.name for x in outcome.blocking_failures]

    assert failures(frame) == []
    merged = frame.index[frame["successor_code"].notna()][0]
    orphan = frame.copy()
    orphan.loc[merged, "successor_code"] = "000.00.00.H99"
    assert failures(orphan) == ["expect_column_values_to_be_in_set on successor_code"]
    backwards = frame.copy()
    backwards.loc[merged, "valid_from"] = date(2030, 1, 1)
    assert failures(backwards) == ["expect_column_pair_values_a_to_be_greater_than_b on valid_to,valid_from"]
    bad = frame.copy()
    bad.loc[0, "agency_code"] = bad.loc[1, "agency_code"]
    bad.loc[2, "agency_code"] = "G12"
    bad.loc[3, "agency_level"] = "district"
    assert failures(bad) == [
        "expect_column_values_to_be_unique on agency_code",
        "expect_column_values_to_match_regex on agency_code",
        "expect_column_values_to_be_in_set on agency_level",
    ]

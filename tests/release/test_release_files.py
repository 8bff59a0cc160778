"""The release `make run` leaves: every table in four formats that agree, a Frictionless package
that validates, checksums that verify, codes kept as text, and the index pointing at it."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from frictionless import validate

from pipelines.lib.release.suppression import STATUS_SUFFIX

KPI_TABLES = {"kpi_processed_records", "kpi_service_coverage", "kpi_transaction_volumes", "kpi_scores"}
CODE_LISTS = {"agencies", "provinces", "procedures"}


def package(run) -> dict:
    return json.loads((run.open_dir / "latest" / "datapackage.json").read_text(encoding="utf-8"))


def test_latest_is_the_current_release_in_the_index(pipeline_run):
    latest = pipeline_run.open_dir / "latest"
    assert latest.is_symlink() and latest.resolve() == (pipeline_run.open_dir / "releases" / "1.0.0").resolve()
    index = json.loads((pipeline_run.open_dir / "releases.json").read_text(encoding="utf-8"))
    assert index["current"] == "1.0.0" == package(pipeline_run)["version"]
    [entry] = index["releases"]
    assert entry["status"] == "current" and entry["period"] == {"start": "2025-03-03", "end": "2025-03-04"}
    assert KPI_TABLES | CODE_LISTS <= set(entry["tables"])


def test_frictionless_validates_the_release(pipeline_run):
    report = validate(str(pipeline_run.open_dir / "latest" / "datapackage.json"))
    assert report.valid, report.flatten(["type", "note"])
    assert len(report.tasks) == len(package(pipeline_run)["resources"]) >= 4 * 7


def test_a_tampered_file_fails_validation(pipeline_run, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(pipeline_run.open_dir / "latest", copy)
    path = copy / "kpi_transaction_volumes.parquet"
    path.write_bytes(path.read_bytes()[:-1] + b"\x00")
    report = validate(str(copy / "datapackage.json"))
    failed = [(task.name, error.type) for task in report.tasks for error in task.errors]
    assert not report.valid and failed == [("kpi_transaction_volumes-parquet", "hash-count")]


def test_the_release_check_catches_a_csv_for_excel_that_is_not_its_csv(pipeline_run, tmp_path):
    """The release check no longer parses each CSV for Excel (it is its CSV after a BOM): a copy
    that differs, and so no longer matches its resource, must still stop the release."""
    import shutil

    from pipelines.lib.release.checks import excel_copy_problems, frictionless_errors

    copy = tmp_path / "copy"
    shutil.copytree(pipeline_run.open_dir / "latest", copy)
    assert frictionless_errors(copy / "datapackage.json") == []
    assert excel_copy_problems(copy, package(pipeline_run)) == []
    excel = copy / "kpi_scores.excel.csv"
    excel.write_bytes(excel.read_bytes().replace(b",", b";", 1))
    assert excel_copy_problems(copy, package(pipeline_run)) == [
        "kpi_scores.excel.csv is not kpi_scores.csv after a BOM",
        "kpi_scores.excel.csv: size or hash differs from datapackage.json",
    ]


def test_every_table_in_four_formats_with_the_same_values(pipeline_run):
    latest = pipeline_run.open_dir / "latest"
    pkg = package(pipeline_run)
    for table in KPI_TABLES | CODE_LISTS:
        schema = next(r["schema"] for r in pkg["resources"] if r["name"] == table)
        dtype = {f["name"]: "string" for f in schema["fields"] if f["type"] == "string"}
        csv_bytes = (latest / f"{table}.csv").read_bytes()
        assert not csv_bytes.startswith(b"\xef\xbb\xbf")
        assert (latest / f"{table}.excel.csv").read_bytes() == b"\xef\xbb\xbf" + csv_bytes
        from_csv = pd.read_csv(latest / f"{table}.csv", dtype=dtype, keep_default_na=False, na_values=[""])
        arrow = pq.read_table(latest / f"{table}.parquet")
        from_parquet = arrow.to_pandas()
        from_json = pd.DataFrame(json.loads((latest / f"{table}.json").read_text(encoding="utf-8")))
        assert list(from_csv.columns) == list(from_parquet.columns) == list(from_json.columns) == [f["name"] for f in schema["fields"]]
        assert len(from_csv) == len(from_parquet) == len(from_json) > 0
        for column in from_csv.columns:
            # numbers compared as numbers (a HUGEINT, e.g. points_possible, is a decimal)
            if from_parquet[column].dtype.kind == "f" or pa.types.is_decimal(arrow.schema.field(column).type):
                expected = from_parquet[column].astype("float64").fillna(-1).tolist()
                assert pd.to_numeric(from_csv[column]).astype("float64").fillna(-1).tolist() == expected, f"{table}.{column}"
                assert pd.to_numeric(from_json[column]).astype("float64").fillna(-1).tolist() == expected, f"{table}.{column}"
            else:
                assert text(from_csv[column]) == text(from_parquet[column]) == text(from_json[column]), f"{table}.{column}"


def text(values) -> list[str]:
    """Cells as lower-case text, every kind of missing as ''."""
    return ["" if v is None or pd.isna(v) else str(v).lower() for v in values]


def test_csv_conventions_iso_dates_dot_decimals_codes_as_text(pipeline_run):
    latest = pipeline_run.open_dir / "latest"
    text = (latest / "kpi_transaction_volumes.csv").read_text(encoding="utf-8")
    header, first = text.splitlines()[:2]
    assert header.startswith("period,period_start,period_end,geography,agency_code")
    assert ",2025-03-03," in first or ",2025-03-01," in first
    rates = pd.read_csv(latest / "kpi_transaction_volumes.csv", dtype=str)["online_dossier_rate"].dropna()
    assert len(rates) and rates.str.fullmatch(r"\d+(\.\d+)?(e-\d+)?").all()  # '.' decimals, never ','
    provinces = pd.read_csv(latest / "provinces.csv", dtype=str)
    assert provinces["gso_province_code"].dropna().str.fullmatch(r"\d{2}").all()  # '01', not 1
    assert provinces["gso_province_code"].str.startswith("0").any()
    agencies = pd.read_csv(latest / "agencies.csv", dtype=str)
    assert set(pipeline_run.agencies) <= set(agencies["agency_code"])


def test_checksums_file_and_package_hashes_match_the_files(pipeline_run):
    latest = pipeline_run.open_dir / "latest"
    listed = dict(reversed(line.split("  ")) for line in (latest / "SHA256SUMS").read_text().splitlines())
    files = {p.name for p in latest.iterdir()} - {"SHA256SUMS"}
    assert set(listed) == files
    for name, digest in listed.items():
        assert hashlib.sha256((latest / name).read_bytes()).hexdigest() == digest, name
    for resource in package(pipeline_run)["resources"]:
        path = latest / resource["path"]
        assert resource["bytes"] == path.stat().st_size
        assert resource["hash"] == f"sha256:{listed[resource['path']]}"


def test_package_declares_licence_keys_foreign_keys_and_missing_value_labels(pipeline_run):
    pkg = package(pipeline_run)
    assert pkg["$schema"].endswith("/2.0/datapackage.json") and pkg["licenses"][0]["name"] == "CC-BY-4.0"
    assert pkg["version"] == "1.0.0" and pkg["updateFrequency"] == "daily"
    assert len({pkg["period"]["start"], pkg["dataAsOf"], pkg["published"]}) == 3
    volumes = next(r for r in pkg["resources"] if r["name"] == "kpi_transaction_volumes")["schema"]
    assert volumes["primaryKey"] == ["period", "period_start", "geography", "agency_code"]
    assert {"fields": ["agency_code"], "reference": {"resource": "agencies", "fields": ["agency_code"]}} in volumes["foreignKeys"]
    fields = {f["name"]: f for f in volumes["fields"]}
    assert fields["received_online"]["description"].startswith("Of those")  # from the dbt manifest
    assert fields["received_online"]["missingValues"][0]["value"] == ""
    status = fields["received_online" + STATUS_SUFFIX]
    assert {c["value"] for c in status["categories"]} == set(status["constraints"]["enum"]) >= {"published", "suppressed_small"}

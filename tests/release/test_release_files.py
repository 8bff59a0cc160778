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


def test_a_file_without_a_schema_is_held_to_its_size_and_hash_by_the_release_check(pipeline_run, tmp_path):
    """Frictionless parses only the tables; a JSON, Parquet or SQLite file whose bytes changed,
    or whose package entry states another hash than SHA256SUMS, still stops the release."""
    import shutil

    from pipelines.lib.release import checks

    copy = tmp_path / "copy"
    shutil.copytree(pipeline_run.open_dir / "latest", copy)
    assert checks.stated_problems(copy, package(pipeline_run)) == [] and checks.verify_sums(copy) == []
    data = copy / "kpi_scores.json"
    data.write_bytes(data.read_bytes().replace(b"published", b"publishes", 1))
    assert checks.verify_sums(copy) == ["kpi_scores.json"]
    descriptor = package(pipeline_run)
    next(r for r in descriptor["resources"] if r["path"] == "vn-egov-kpi.sqlite")["hash"] = "sha256:" + "0" * 64
    assert checks.stated_problems(copy, descriptor) == [
        "vn-egov-kpi.sqlite: size or hash in datapackage.json differs from the file or SHA256SUMS"]


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


def test_frictionless_in_worker_processes_finds_what_one_process_finds(pipeline_run, tmp_path, monkeypatch):
    """A year's release validates its resources in worker processes: a bad row is still found,
    named the same as when one process validates every resource."""
    import shutil

    from pipelines.lib.release import checks

    copy = tmp_path / "copy"
    shutil.copytree(pipeline_run.open_dir / "latest", copy)
    csv_file = copy / "kpi_scores.csv"
    header, first, *rest = csv_file.read_text(encoding="utf-8").splitlines()
    csv_file.write_text("\n".join([header, first.replace(",", ",not a number,", 1).rsplit(",", 1)[0], *rest]) + "\n",
                        encoding="utf-8")
    in_one = checks.frictionless_errors(copy / "datapackage.json")
    monkeypatch.setattr(checks, "BYTES_PER_WORKER", 1)
    monkeypatch.setattr(checks.os, "cpu_count", lambda: 2)
    in_workers = checks.frictionless_errors(copy / "datapackage.json")
    assert in_one and in_workers == in_one
    assert any(problem.startswith("kpi_scores: Type error") and "not a number" in problem for problem in in_workers), in_workers


def test_the_json_check_compares_every_cell_with_dates_as_iso_8601():
    from datetime import date

    from pipelines.lib.release.checks import json_holds

    table = pa.table({"day": [date(2025, 7, 1), None], "agency_code": ["000.00.01.H01", "000.00.01.H02"], "dossiers": [3, 4]})
    records = [{"day": "2025-07-01", "agency_code": "000.00.01.H01", "dossiers": 3},
               {"day": None, "agency_code": "000.00.01.H02", "dossiers": 4}]
    assert json_holds(records, table)
    assert not json_holds([records[0], {**records[1], "dossiers": 5}], table)
    assert not json_holds([records[0], {**records[1], "extra": 1}], table)
    assert not json_holds([records[0], {"day": None, "agency_code": "000.00.01.H02", "count": 4}], table)
    assert not json_holds(records[:1], table)
    assert not json_holds([{**records[0], "day": "2025-07-02"}, records[1]], table)


def _restated(folder, table: str, change) -> None:
    """`table`'s CSV with its lines changed by `change`, the package's size and hash updated to
    match: only a row check can tell."""
    path = folder / f"{table}.csv"
    header, *lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([header, *change(lines)]) + "\n", encoding="utf-8")
    descriptor = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    resource = next(r for r in descriptor["resources"] if r["path"] == path.name)
    resource["bytes"], resource["hash"] = path.stat().st_size, f"sha256:{hashlib.sha256(path.read_bytes()).hexdigest()}"
    (folder / "datapackage.json").write_text(json.dumps(descriptor, ensure_ascii=False, indent=2), encoding="utf-8")


def test_a_release_after_another_parses_only_its_new_lines_and_still_finds_what_frictionless_finds(pipeline_run, tmp_path):
    """Against the previous release, only new lines are parsed; keys and foreign keys are held
    over the whole file. Each fault below is found, by the incremental check and by Frictionless whole."""
    import shutil

    from pipelines.lib.release.checks import frictionless_errors

    previous = tmp_path / "previous"
    shutil.copytree(pipeline_run.open_dir / "latest", previous)
    assert frictionless_errors(previous / "datapackage.json", previous) == []

    def bad_cell(lines):  # a new line whose date is not a date
        first = lines[0].split(",")
        return [",".join([first[0], "not a date", *first[2:]]), *lines[1:]]

    def repeated_key(lines):  # the last line replaced by the first's key with other figures
        return [*lines[:-1], lines[0].replace(",published", ",suppressed_small", 1)]

    def one_row_more(lines):  # more rows than the package states: Frictionless parses it whole
        return [*lines, lines[-1]]

    def unknown_agency(lines):
        first = lines[0].split(",")
        at = next(i for i, cell in enumerate(first) if cell in pipeline_run.agencies)
        return [",".join([*first[:at], "000.00.99.X99", *first[at + 1:]]), *lines[1:]]

    for fault, expected in ((bad_cell, "(lines new since the previous release): Type error"),
                            (repeated_key, "primary key value(s) repeated"),
                            (unknown_agency, "is not in agencies"),
                            (one_row_more, "does not match the expected row count")):
        new = tmp_path / fault.__name__
        shutil.copytree(previous, new)
        _restated(new, "kpi_processed_records", fault)
        incremental = frictionless_errors(new / "datapackage.json", previous)
        assert any(expected in problem for problem in incremental), (fault.__name__, incremental)
        assert frictionless_errors(new / "datapackage.json"), fault.__name__  # and Frictionless whole agrees


def test_checksums_taken_as_files_are_written_are_kept_and_still_verified_from_disk(tmp_path):
    from pipelines.lib.release.checksums import read_sums, verify_sums, write_sums

    (tmp_path / "a.csv").write_text("x\n", encoding="utf-8")
    (tmp_path / "b.json").write_text("[]", encoding="utf-8")
    write_sums(tmp_path, {"a.csv": hashlib.sha256(b"x\n").hexdigest()})
    assert read_sums(tmp_path) == {"a.csv": hashlib.sha256(b"x\n").hexdigest(), "b.json": hashlib.sha256(b"[]").hexdigest()}
    assert verify_sums(tmp_path) == []
    write_sums(tmp_path, {"a.csv": "0" * 64})  # a digest taken before the file changed
    assert verify_sums(tmp_path) == ["a.csv"]

"""Whole-table rules are dbt tests, run as Dagster asset checks: an error-severity rule that
fails stops the KPI build and the release; a warn-severity one is reported and lets it through."""

import json
import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pipelines.lib.landing import write_table_atomic
from pipelines.settings import DBT_PROJECT_DIR
from tests.helpers import run_graph

DAY = date(2025, 3, 4)
AGENCIES = ["000.00.00.G08", "000.00.00.H29"]
AGENCY = "000.00.00.H29"
RELATIONSHIP = "relationships_int_dossier_state_intervals_procedure_code__procedure_code__ref_stg_procedures_"
LANDED_NOT_ABOVE_TOTAL = "not_greater_than_stg_validated_partitions_landed__source_total"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One day of two agencies through the whole graph (release 1.0.0), then a kpi_job runner."""
    from simulator import Simulation

    root = tmp_path_factory.mktemp("dbt_rules")
    data, report = run_graph(Simulation(seed=11, scale=0.01, now=datetime(2025, 3, 6)), root, [DAY], AGENCIES)
    assert report.kpi_ok, report.failed
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("EGOV_DATA_DIR", str(data))
    from pipelines.definitions import defs

    with dg.DagsterInstance.ephemeral() as instance:
        yield data, lambda: defs.resolve_job_def("kpi_job").execute_in_process(instance=instance, raise_on_error=False)
    monkeypatch.undo()


def _partition(data, layer: str, name: str):
    return data / "validated" / layer / f"date={DAY}" / f"agency={AGENCY}" / name


def _evaluation(result, name: str):
    return next(e.event_specific_data for e in result.all_events
                if e.event_type_value == "ASSET_CHECK_EVALUATION" and e.event_specific_data.asset_check_key.name == name)


def _materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"}


def test_a_build_starts_dbt_once_and_sends_nothing_beyond_the_machine(built, monkeypatch):
    """dagster-dbt would run `dbt --version` first (a second start of dbt, which asks PyPI for
    the latest release) and open dbt's adapter in the run's process; dbt would send usage events
    to dbt Labs. None of that happens, and the build is whole (pipelines/defs/transform.py)."""
    from dagster_dbt.core import resource

    data, kpi_job = built
    started = []
    monkeypatch.setattr(resource, "check_output", lambda *args, **kwargs: started.append(args) or b"")
    monkeypatch.setattr(resource.DbtCliResource, "_initialize_dbt_core_adapter",
                        lambda self, args: started.append(("adapter", args)))
    result = kpi_job()
    assert result.success and started == []
    manifest = json.loads((data / "dbt" / "builds" / result.run_id / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["metadata"]["send_anonymous_usage_stats"] is False
    assert "kpi_scores" in _materialized(result)


def test_a_warning_rule_is_reported_and_the_release_goes_out(built):
    data, kpi_job = built
    catalogue = _partition(data, "procedures", "procedures.parquet")
    used = pq.read_table(_partition(data, "dossiers", "dossiers.parquet"), columns=["procedure_code"]).column(0)
    table = pq.read_table(catalogue)
    dropped = used[0].as_py()  # a procedure the agency's dossiers use leaves the catalogue
    write_table_atomic(table.filter(pc.not_equal(table.column("procedure_code"), dropped)), catalogue)

    result = kpi_job()
    evaluation = _evaluation(result, RELATIONSHIP)
    assert result.success
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    assert "open_data_export" in _materialized(result)


def test_an_error_rule_stops_the_models_and_the_release(built):
    data, kpi_job = built
    latest = (data / "open" / "latest").resolve()
    manifest = _partition(data, "partitions", "partition.parquet")
    row = pq.read_table(manifest).to_pylist()[0]
    table = pq.read_table(manifest)
    write_table_atomic(table.set_column(table.schema.get_field_index("landed"), "landed",
                                        pa.array([row["source_total"] + 1], pa.int64())), manifest)  # more landed than the source sent

    result = kpi_job()
    evaluation = _evaluation(result, LANDED_NOT_ABOVE_TOTAL)
    assert not result.success
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    materialized = _materialized(result)
    assert "open_data_export" not in materialized and "kpi_processed_records" not in materialized
    assert (data / "open" / "latest").resolve() == latest


def test_a_build_keeps_its_artifacts_in_the_data_directory_and_parses_from_the_last(built):
    """The first build of a warehouse parses the whole project; the next starts from its parse state."""
    from pipelines.lib import dbt_runs
    from pipelines.settings import DBT_PROJECT_DIR

    data, kpi_job = built
    in_repo = set((DBT_PROJECT_DIR / "target").glob("kpi_models-*"))
    result = kpi_job()
    log = (data / "dbt" / "builds" / result.run_id / "dbt.log").read_text(encoding="utf-8")
    assert (data / "dbt" / "builds" / result.run_id / "run_results.json").exists()
    assert "Partial parsing enabled" in log and "Unable to do partial parsing" not in log
    assert (data / "dbt" / dbt_runs.PARSE_STATE).exists()
    assert set((DBT_PROJECT_DIR / "target").glob("kpi_models-*")) == in_repo  # nothing left in the repo


def test_only_the_newest_builds_are_kept(data_dir):
    import os

    from pipelines.lib import dbt_runs

    for n in range(5):
        folder = dbt_runs.build_dir(f"run-{n}")
        folder.mkdir(parents=True)
        os.utime(folder, (1_000_000 + n, 1_000_000 + n))
    removed = dbt_runs.prune_builds(keep=2)
    assert sorted(p.name for p in removed) == ["run-0", "run-1", "run-2"]
    assert sorted(p.name for p in (data_dir / "dbt" / "builds").iterdir()) == ["run-3", "run-4"]


def test_the_kpi_rules_hold_on_their_unit_tests(built):
    """The production build leaves dbt's unit tests out (pipelines/defs/transform.py): they run
    here, against the built warehouse, each a KPI rule of docs/kpis.md on fixed inputs."""
    data, _ = built
    target = data / "dbt" / "unit-tests"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "test", "--select", "test_type:unit", "--profiles-dir", ".",
         "--target-path", str(target)],
        cwd=DBT_PROJECT_DIR, env={**os.environ, "EGOV_DATA_DIR": str(data)}, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    results = json.loads((target / "run_results.json").read_text())["results"]
    outcomes = [r["status"] for r in results if r["unique_id"].startswith("unit_test.")]
    assert len(outcomes) >= 14 and set(outcomes) == {"pass"}

"""The wiring around the suites, on one agency-day: the volume anomaly warns without blocking,
Data Docs are written and linked, and the gate never publishes a landing its checks did not pass."""

from datetime import date, datetime, timedelta

import dagster as dg
import pytest

from pipelines.defs.partitions import agency_day_key
from pipelines.lib.landing import partition_path, write_parquet_atomic
from pipelines.lib.validation import read_validation_quarantine, same_weekdays, write_validation_quarantine
from tests.validation.conftest import check_evaluations, pipeline

AGENCY = "000.00.00.H29"
DAY = date(2025, 3, 4)
GATE = [dg.AssetKey("validated_dossiers"), dg.AssetKey("validated_partitions")]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One clean agency-day after five weeks whose validated totals were ten times bigger."""
    from pipelines.lib.ingest import PARTITION_SCHEMA
    from simulator import Simulation

    sim = Simulation(seed=3, scale=0.02, faults="none", now=datetime(2025, 3, 6))
    start = datetime.combine(DAY, datetime.min.time())
    total = sim.window_total(AGENCY, start, start + timedelta(days=1))
    with pipeline(tmp_path_factory.mktemp("gate"), sim) as (defs, instance, data):
        for n, earlier in enumerate(same_weekdays(DAY)[:5]):
            history = {"agency_code": AGENCY, "day": earlier, "source_total": 10 * total + n, "received": 0,
                       "landed": 0, "quarantined": 0, "duplicates": 0, "content_sha256": "", "unknown_fields": "[]",
                       "missing_fields": "[]"}
            write_parquet_atomic([history], PARTITION_SCHEMA,
                                 partition_path(data / "validated" / "partitions", earlier, AGENCY, "partition.parquet"))
        job = defs.resolve_job_def("ingest_job")
        key = agency_day_key(AGENCY, DAY)
        result = job.execute_in_process(instance=instance, partition_key=key, raise_on_error=False)
        yield {"result": result, "checks": check_evaluations(instance), "data": data, "total": total, "sim": sim,
               "ingest": lambda: job.execute_in_process(instance=instance, partition_key=key, raise_on_error=False),
               "gate": lambda: job.execute_in_process(instance=instance, partition_key=key, asset_selection=GATE,
                                                     raise_on_error=False)}


def test_a_volume_anomaly_warns_and_the_agency_day_still_goes_through(run):
    assert run["result"].success
    volume = run["checks"]["raw_dossiers_volume", AGENCY, DAY]
    metadata = {k: v.value for k, v in volume.metadata.items()}
    assert not volume.passed and volume.severity == dg.AssetCheckSeverity.WARN
    assert metadata["history_weeks"] == 5 and metadata["volume_min"] > run["total"]
    assert "expect_table_row_count_to_be_between" in metadata["failures"] and str(run["total"]) in metadata["failures"]
    assert (run["data"] / "validated" / "dossiers" / f"date={DAY}" / f"agency={AGENCY}" / "dossiers.parquet").exists()


def test_every_check_links_its_data_docs_page(run):
    docs = run["data"] / "quality" / "data_docs"
    for name, suite in (("raw_dossiers_expectations", "raw_dossiers"),
                        ("raw_dossiers_partition_expectations", "raw_dossier_partitions"),
                        ("raw_dossiers_volume", "raw_dossiers_volume"),
                        ("procedure_catalogue_expectations", "procedure_catalogue")):
        page = run["checks"][name, AGENCY, DAY].metadata["data_docs"].value
        assert page == str(docs / "validations" / suite / f"date={DAY}" / f"agency={AGENCY}" / "validation.html")
        html = open(page, encoding="utf-8").read()
        assert suite in html and f"agency {AGENCY}, day {DAY}" in html
        assert (docs / "expectations" / f"{suite}.html").exists()
        day_index = (docs / "validations" / suite / f"date={DAY}" / "index.html").read_text(encoding="utf-8")
        assert f"agency={AGENCY}/validation.html" in day_index
    assert (docs / "static" / "styles").is_dir()
    assert "raw_dossiers_volume" in (docs / "index.html").read_text(encoding="utf-8")


def test_the_gate_refuses_a_landing_its_checks_did_not_judge(run):
    path = run["data"] / "quarantine" / "dossiers" / f"date={DAY}" / f"agency={AGENCY}" / "validation.parquet"
    judged = read_validation_quarantine(path)
    try:
        write_validation_quarantine([], path, landed_sha256="an earlier landing", blocked=False)
        refused = run["gate"]()
        assert not refused.success
        failure = refused.failure_data_for_node("validated_dossiers").error.message
        assert f"agency {AGENCY}, day {DAY}: this landing of raw_dossiers has not been through its checks" in failure

        write_validation_quarantine([], path, landed_sha256=judged.landed_sha256, blocked=True)
        refused = run["gate"]()
        assert "a blocking check failed on this landing" in refused.failure_data_for_node("validated_dossiers").error.message
    finally:
        write_validation_quarantine([], path, landed_sha256=judged.landed_sha256, blocked=False)
    assert run["gate"]().success


def test_a_blocked_catalogue_never_reaches_dbt_and_holds_back_its_agency_day(run, monkeypatch):
    raw = run["data"] / "raw" / "procedures" / f"date={DAY}" / f"agency={AGENCY}" / "procedures.parquet"
    validated = run["data"] / "validated" / "procedures" / f"date={DAY}" / f"agency={AGENCY}" / "procedures.parquet"
    assert validated.exists() and validated.read_bytes() == raw.read_bytes()  # published when its check passed
    served = run["sim"].procedures
    with monkeypatch.context() as patch:  # the agency's catalogue lists a procedure twice
        patch.setattr(run["sim"], "procedures", lambda code, as_of: served(code, as_of) + served(code, as_of)[:1])
        blocked = run["ingest"]()
    evaluation = next(e.event_specific_data for e in blocked.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
                      and e.event_specific_data.asset_check_key.name == "procedure_catalogue_expectations")
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert "expect_column_values_to_be_unique" in evaluation.metadata["failures"].value
    assert not validated.exists()  # what dbt reads (validated/procedures) never holds it
    assert not (run["data"] / "validated" / "dossiers" / f"date={DAY}" / f"agency={AGENCY}" / "dossiers.parquet").exists()
    refused = run["gate"]()
    message = refused.failure_data_for_node("validated_dossiers").error.message
    assert f"agency {AGENCY}, day {DAY}: the procedure catalogue of this agency-day has not passed its check" in message
    assert run["ingest"]().success  # the agency fixed its catalogue: re-pulled, checked, published
    assert validated.exists() and validated.read_bytes() == raw.read_bytes()

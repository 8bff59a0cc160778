"""The wiring around the suites, on one agency-day: the volume anomaly warns without blocking,
Data Docs are written once per run and linked, and the gate never publishes a landing its checks
did not pass."""

from datetime import date, datetime, timedelta

import pytest

from pipelines.lib.landing import partition_path, write_parquet_atomic
from pipelines.lib.validation import read_validation_quarantine, same_weekdays, write_validation_quarantine
from pipelines.lib.validation_run import GateError, publish_validated
from tests.helpers import ingest_days
from tests.validation.conftest import check_evaluations, pipeline

AGENCY = "000.00.00.H29"
DAY = date(2025, 3, 4)


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
        failed = ingest_days(defs, instance, [DAY], [AGENCY])
        yield {"failed": failed, "checks": check_evaluations(instance), "data": data, "total": total, "sim": sim,
               "ingest": lambda: (ingest_days(defs, instance, [DAY], [AGENCY]), check_evaluations(instance))}


def test_a_volume_anomaly_warns_and_the_agency_day_still_goes_through(run):
    assert run["failed"] == []
    volume = run["checks"]["raw_dossiers_volume", AGENCY, DAY]
    assert not volume.passed and volume.severity == "WARN"
    assert "expect_column_pair_values_a_to_be_greater_than_b on rows,volume_min" in volume.failures
    assert str(run["total"]) in volume.failures
    assert (run["data"] / "validated" / "dossiers" / f"date={DAY}" / f"agency={AGENCY}" / "dossiers.parquet").exists()


def test_every_check_links_the_runs_data_docs(run):
    docs = run["data"] / "quality" / "data_docs"
    runs = [p for p in (docs / "runs").iterdir() if (p / "raw_dossiers").is_dir()]
    assert len(runs) == 1, "one validation run, one folder"
    for name, suite in (("raw_dossiers_expectations", "raw_dossiers"),
                        ("raw_dossiers_partition_expectations", "raw_dossier_partitions"),
                        ("raw_dossiers_volume", "raw_dossiers_volume"),
                        ("procedure_catalogue_expectations", "procedure_catalogue")):
        assert run["checks"][name, AGENCY, DAY].data_docs_url == (runs[0] / "index.html").as_uri()
        page = runs[0] / suite / "0" / "validation.html"
        assert suite in page.read_text(encoding="utf-8"), "one GX page per suite for the whole run"
        assert (docs / "expectations" / f"{suite}.html").exists()
    index = (runs[0] / "index.html").read_text(encoding="utf-8")
    assert AGENCY in index and str(DAY) in index and "validated" in index
    assert (docs / "static" / "styles").is_dir()
    assert runs[0].name in (docs / "index.html").read_text(encoding="utf-8")


def test_the_gate_refuses_a_landing_its_checks_did_not_judge(run, monkeypatch):
    monkeypatch.setenv("EGOV_DATA_DIR", str(run["data"]))
    path = run["data"] / "quarantine" / "dossiers" / f"date={DAY}" / f"agency={AGENCY}" / "validation.parquet"
    judged = read_validation_quarantine(path)
    try:
        write_validation_quarantine([], path, landed_sha256="an earlier landing", blocked=False)
        with pytest.raises(GateError, match=f"agency {AGENCY}, day {DAY}: this landing has not been through its checks"):
            publish_validated(AGENCY, DAY)
        write_validation_quarantine([], path, landed_sha256=judged.landed_sha256, blocked=True)
        with pytest.raises(GateError, match="a blocking check failed on this landing"):
            publish_validated(AGENCY, DAY)
    finally:
        write_validation_quarantine([], path, landed_sha256=judged.landed_sha256, blocked=False)
    assert publish_validated(AGENCY, DAY)["landed"] > 0


def test_a_blocked_catalogue_never_reaches_dbt_and_holds_back_its_agency_day(run, monkeypatch):
    raw = run["data"] / "raw" / "procedures" / f"date={DAY}" / f"agency={AGENCY}" / "procedures.parquet"
    validated = run["data"] / "validated" / "procedures" / f"date={DAY}" / f"agency={AGENCY}" / "procedures.parquet"
    dossiers = run["data"] / "validated" / "dossiers" / f"date={DAY}" / f"agency={AGENCY}" / "dossiers.parquet"
    assert validated.exists() and validated.read_bytes() == raw.read_bytes()  # published when its check passed
    served = run["sim"].procedures
    with monkeypatch.context() as patch:  # the agency's catalogue lists a procedure twice
        patch.setattr(run["sim"], "procedures", lambda code, as_of: served(code, as_of) + served(code, as_of)[:1])
        failed, checks = run["ingest"]()
    evaluation = checks["procedure_catalogue_expectations", AGENCY, DAY]
    assert failed == [f"{AGENCY} {DAY}"]
    assert not evaluation.passed and evaluation.severity == "ERROR"
    assert "expect_compound_columns_to_be_unique on agency_code,day,procedure_code" in evaluation.failures
    assert not validated.exists()  # what dbt reads (validated/procedures) never holds it
    assert not dossiers.exists()
    monkeypatch.setenv("EGOV_DATA_DIR", str(run["data"]))
    with pytest.raises(GateError, match=f"agency {AGENCY}, day {DAY}: the procedure catalogue of this agency-day"):
        publish_validated(AGENCY, DAY)
    failed, _checks = run["ingest"]()  # the agency fixed its catalogue: re-pulled, checked, published
    assert failed == []
    assert validated.exists() and validated.read_bytes() == raw.read_bytes() and dossiers.exists()

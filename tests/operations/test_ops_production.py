"""The production instance (config/dagster.production.yaml) on a real PostgreSQL, started by the
test on loopback, and the embedded one (config/dagster.yaml) as `make run` and `make ui` use it."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import psycopg2

from pipelines.defs.concurrency import POOL_LIMITS, apply_pool_limits
from pipelines.settings import REPO_ROOT
from tests.helpers import serve

AGENCY, DAY = "000.00.00.G12", date(2025, 3, 4)  # the Ministry of Finance: valid that day, no successor


def home_with(tmp_path: Path, config: str) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO_ROOT / "config" / config, home / "dagster.yaml")
    return home


def test_one_agency_day_runs_through_the_production_instance(postgres, data_dir, tmp_path, monkeypatch):
    from simulator import Simulation

    from pipelines.definitions import defs
    from tests.helpers import ingest_days, register

    for name, value in postgres.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAGSTER_HOME", str(home_with(tmp_path, "dagster.production.yaml")))
    sim = Simulation(seed=3, scale=0.01, faults="none", now=datetime(2025, 3, 5, 6, 0), agencies=[AGENCY])
    server = serve(sim, tmp_path, monkeypatch)
    try:
        with dg.DagsterInstance.get() as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
            assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
            apply_pool_limits(instance)
            assert register(defs, instance)
            assert ingest_days(defs, instance, [DAY], [AGENCY]) == []
    finally:
        server.shutdown()
    assert (data_dir / "validated" / "partitions" / f"date={DAY}" / f"agency={AGENCY}" / "partition.parquet").exists()
    # What the webserver and the daemon will read: in PostgreSQL, not in local files.
    db = {"host": postgres["DAGSTER_PG_HOST"], "port": postgres["DAGSTER_PG_PORT"], "dbname": "dagster",
          "user": "dagster", "password": postgres["DAGSTER_PG_PASSWORD"]}
    with psycopg2.connect(**db) as con, con.cursor() as cursor:
        cursor.execute("select pipeline_name, status from runs order by create_timestamp")
        assert cursor.fetchall() == [("registry_job", "SUCCESS"), ("ingest_job", "SUCCESS")]
        cursor.execute("select partition from event_logs where dagster_event_type = 'ASSET_MATERIALIZATION' "
                       "and asset_key = '[\"validated_dossiers\"]'")
        assert cursor.fetchall() == [(DAY.isoformat(),)]
        cursor.execute("select concurrency_key, count(*) from concurrency_slots group by concurrency_key")
        assert dict(cursor.fetchall()) == POOL_LIMITS


def test_the_production_instance_runs_the_daemon_with_queue_limits(postgres, tmp_path, monkeypatch):
    for name, value in postgres.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAGSTER_HOME", str(home_with(tmp_path, "dagster.production.yaml")))
    with dg.DagsterInstance.get() as instance:
        daemons = set(instance.get_required_daemon_types())
        coordinator = instance.run_coordinator
        assert {"SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR", "FRESHNESS_DAEMON",
                "EVENT_LOG_CONSUMER", "MONITORING"} <= daemons
        assert type(coordinator).__name__ == "QueuedRunCoordinator"
        settings = instance.get_concurrency_config()
        assert settings.run_queue_config.max_concurrent_runs == 16
        assert settings.pool_config.pool_granularity.value == "run" and settings.pool_config.default_pool_limit == 1
        assert not settings.run_queue_config.tag_concurrency_limits  # runs cover every agency: pools limit them
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 2


def test_the_embedded_instance_needs_nothing_installed(tmp_path, monkeypatch):
    home = home_with(tmp_path, "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 4
        assert "QUEUED_RUN_COORDINATOR" in instance.get_required_daemon_types()
        apply_pool_limits(instance)
        apply_pool_limits(instance)  # idempotent
        limits = {key: instance.event_log_storage.get_concurrency_info(key).slot_count for key in POOL_LIMITS}
    assert limits == POOL_LIMITS
    assert (home / "history").exists()  # SQLite under DAGSTER_HOME


def test_the_cli_never_replaces_a_production_instance_configuration(tmp_path, monkeypatch):
    from pipelines.__main__ import prepare_dagster_home

    production = home_with(tmp_path, "dagster.production.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(production))
    prepare_dagster_home()
    assert (production / "dagster.yaml").read_bytes() == (REPO_ROOT / "config" / "dagster.production.yaml").read_bytes()
    laptop = tmp_path / "laptop"
    laptop.mkdir()
    (laptop / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")  # an older embedded copy
    monkeypatch.setenv("DAGSTER_HOME", str(laptop))
    prepare_dagster_home()
    assert (laptop / "dagster.yaml").read_bytes() == (REPO_ROOT / "config" / "dagster.yaml").read_bytes()

"""Semantic versions decided by comparing with the previous release, revision flags, the index
and withdrawal, on private copies of the run's warehouse changed the way real data changes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import duckdb
import pandas as pd

from pipelines.lib.release.build import publish_release
from pipelines.lib.release.versioning import withdraw
from pipelines.settings import DBT_PROJECT_DIR, TIMEZONE

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
NOW = datetime(2025, 3, 5, 7, 0, tzinfo=TIMEZONE)


def publish(run, hours: int = 0):
    return publish_release(run.warehouse, run.open_dir, MANIFEST, now=NOW + timedelta(hours=hours))


def index(run) -> dict:
    return json.loads((run.open_dir / "releases.json").read_text(encoding="utf-8"))


def sql(run, statement: str) -> None:
    with duckdb.connect(str(run.warehouse)) as con:
        con.execute(statement)


def busiest_daily_row(run) -> tuple[str, str]:
    with duckdb.connect(str(run.warehouse), read_only=True) as con:
        return con.execute(
            "select agency_code, cast(period_start as varchar) from kpi_processed_records "
            "where period = 'day' and geography = 'as_was' and agency_code <> 'VN' order by refused desc, received_total desc limit 1"
        ).fetchone()


def test_same_data_twice_makes_no_new_release(workspace):
    first = publish(workspace)
    again = publish(workspace, hours=1)
    assert (first.version, first.created) == ("1.0.0", True)
    assert (again.version, again.created) == ("1.0.0", False)
    assert [r["version"] for r in index(workspace)["releases"]] == ["1.0.0"]


def test_a_correction_is_a_patch_with_revision_flags(workspace):
    publish(workspace)
    agency, day = busiest_daily_row(workspace)
    sql(workspace, f"update kpi_processed_records set refused = refused + 20 where agency_code = '{agency}' "
                   f"and period = 'day' and geography = 'as_was' and period_start = '{day}'")
    patch = publish(workspace, hours=1)
    assert (patch.version, patch.level) == ("1.0.1", "patch")
    table = pd.read_csv(workspace.open_dir / "latest" / "kpi_processed_records.csv", dtype=str)
    revised = table[table["revised"] == "true"]
    assert list(zip(revised["agency_code"], revised["period_start"], revised["geography"])) == [(agency, day, "as_was")]
    assert revised["revised_columns"].iloc[0] == "refused"
    changelog = (workspace.open_dir / "latest" / "CHANGELOG.md").read_text(encoding="utf-8")
    assert changelog.index("## 1.0.1") < changelog.index("## 1.0.0")
    assert "`kpi_processed_records`: 1 rows revised (refused)" in changelog
    releases = {r["version"]: r["status"] for r in index(workspace)["releases"]}
    assert releases == {"1.0.1": "current", "1.0.0": "superseded"}
    # The earlier release is untouched: same files, no flags.
    old = pd.read_csv(workspace.open_dir / "releases" / "1.0.0" / "kpi_processed_records.csv", dtype=str)
    assert (old["revised"] == "false").all()


def test_a_new_period_is_a_minor_release(workspace):
    publish(workspace)
    for table in ("kpi_processed_records", "kpi_service_coverage", "kpi_transaction_volumes", "kpi_scores"):
        sql(workspace, f"insert into {table} select * replace (period_start + 2 as period_start, period_end + 2 as period_end) "
                       f"from {table} where period = 'day' and period_start = (select max(period_start) from {table} where period = 'day')")
    sql(workspace, "insert into stg_validated_partitions select * replace (day + 2 as day) from stg_validated_partitions "
                   "where day = (select max(day) from stg_validated_partitions)")
    minor = publish(workspace, hours=24)
    assert (minor.version, minor.level) == ("1.1.0", "minor")
    package = json.loads((workspace.open_dir / "latest" / "datapackage.json").read_text(encoding="utf-8"))
    assert package["period"] == {"start": "2025-03-03", "end": "2025-03-06"}
    assert package["dataAsOf"] == "2025-03-07T00:00:00+07:00"


def test_the_monthly_close_is_a_minor_release_once_per_month(workspace):
    publish(workspace)
    close = publish_release(workspace.warehouse, workspace.open_dir, MANIFEST, now=NOW + timedelta(hours=1), closes="2025-02")
    assert (close.version, close.created, close.level) == ("1.1.0", True, "minor")  # same figures, the month closed
    changelog = (workspace.open_dir / "latest" / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "Monthly close of 2025-02 (khóa sổ tháng)" in changelog.split("## 1.0.0")[0]
    assert {r["version"]: r.get("closes") for r in index(workspace)["releases"]} == {"1.1.0": "2025-02", "1.0.0": None}
    again = publish_release(workspace.warehouse, workspace.open_dir, MANIFEST, now=NOW + timedelta(hours=2), closes="2025-02")
    assert (again.version, again.created) == ("1.1.0", False)  # a rerun of the close publishes nothing


def test_a_schema_change_is_a_major_release(workspace):
    publish(workspace)
    sql(workspace, "alter table kpi_scores add column points_digitisation double")
    major = publish(workspace, hours=1)
    assert (major.version, major.level) == ("2.0.0", "major")
    columns = pd.read_csv(workspace.open_dir / "latest" / "kpi_scores.csv", nrows=0).columns
    assert "points_digitisation" in columns and "points_digitisation_status" in columns


def test_withdrawal_switches_latest_back_and_numbers_are_not_reused(workspace):
    publish(workspace)
    agency, day = busiest_daily_row(workspace)
    where = f"agency_code = '{agency}' and period = 'day' and geography = 'as_was' and period_start = '{day}'"
    sql(workspace, f"update kpi_processed_records set stopped = stopped + 9 where {where}")
    publish(workspace, hours=1)
    assert withdraw(workspace.open_dir, "1.0.1", "wrong figures for one agency", NOW.isoformat()) == "1.0.0"
    assert (workspace.open_dir / "latest").resolve().name == "1.0.0"
    statuses = {r["version"]: r["status"] for r in index(workspace)["releases"]}
    assert statuses == {"1.0.1": "withdrawn", "1.0.0": "current"}
    sql(workspace, f"update kpi_processed_records set stopped = stopped + 1 where {where}")
    again = publish(workspace, hours=2)
    assert again.version == "1.0.2"


def test_a_release_failing_its_checks_is_not_published(workspace):
    import pytest

    from pipelines.lib.release.build import ReleaseCheckFailed

    publish(workspace)
    before = (workspace.open_dir / "releases.json").read_bytes()
    sql(workspace, "create table agencies_copy as select * from dim_agencies; drop table dim_agencies")
    sql(workspace, "create or replace view dim_agencies as select * replace "
                   "(case when agency_level = 'ministry' then name_vi || ' (lien he: nguyen.van.a@example.com)' else name_vi end as name_vi) "
                   "from agencies_copy")
    with pytest.raises(ReleaseCheckFailed, match="agencies.name_vi: a value looks like a e-mail"):
        publish(workspace, hours=1)
    assert (workspace.open_dir / "latest").resolve().name == "1.0.0"
    assert (workspace.open_dir / "releases.json").read_bytes() == before
    assert sorted(p.name for p in (workspace.open_dir / "releases").iterdir()) == ["1.0.0"]


def test_version_numbers():
    from pipelines.lib.release.versioning import bump

    assert bump(None, "patch") == "1.0.0"
    assert [bump("1.4.2", level) for level in ("major", "minor", "patch")] == ["2.0.0", "1.5.0", "1.4.3"]
    assert bump("1.9.0", "minor") == "1.10.0"

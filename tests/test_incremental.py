"""The incremental KPI models give what a full refresh gives, a restated day included, and a
rerun on unchanged data changes nothing."""

import json
import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.helpers import build_kpis, ingest_days, read_marts, register, serve

DAY1, DAY2, DAY3 = date(2025, 9, 8), date(2025, 9, 9), date(2025, 9, 10)
MARTS = ("kpi_processed_records", "kpi_transaction_volumes", "kpi_service_coverage", "kpi_scores")
STAGING = ("stg_validated_partitions", "stg_procedures")
TABLES = ("int_dossier_state_intervals", "int_kpi_agency_daily", "int_online_procedure_use",
          "int_kpi_agency_periods", "int_kpi_periods", *MARTS, *STAGING, "dim_procedures")
# Which run wrote a row, and from which day it rebuilt its agency: differ between an
# incremental build and a full refresh by design, so they are left out of the comparison.
BOOKKEEPING = ["built_at", "restated_from"]
DBT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"


def sorted_frames(data) -> dict:
    frames = {name: frame.drop(columns=[c for c in BOOKKEEPING if c in frame.columns])
              for name, frame in read_marts(data, TABLES).items()}
    return {name: frame.sort_values(list(frame.columns)).reset_index(drop=True) for name, frame in frames.items()}


def states_on(intervals: pd.DataFrame, day: date) -> pd.DataFrame:
    """The dossier versions that are the dossiers' states at the end of `day` (or ended that day)."""
    day = pd.Timestamp(day)
    return intervals[intervals["dossier_code"].notna() & (intervals["valid_from"] <= day) & (intervals["valid_to"] >= day)]


def period_rows(table: pd.DataFrame, period: str, start: date) -> pd.DataFrame:
    rows = table[(table["period"] == period) & (table["period_start"] == pd.Timestamp(start))]
    return rows.drop(columns=["built_at"], errors="ignore").reset_index(drop=True)


def assert_same(left: dict, right: dict):
    for name in TABLES:
        pd.testing.assert_frame_equal(left[name], right[name], check_dtype=False, obj=name)


def pull(sim, tmp_path, monkeypatch, instance, partitions):
    from pipelines.definitions import defs

    server = serve(sim, tmp_path, monkeypatch)
    try:
        assert register(defs, instance)
        assert ingest_days(defs, instance, [d for _, d in partitions], [a for a, _ in partitions]) == []
    finally:
        server.shutdown()


def kpis(instance):
    from pipelines.definitions import defs

    assert build_kpis(defs, instance)


def test_incremental_equals_full_refresh_and_reruns_are_idempotent(data_dir, tmp_path, monkeypatch):
    from simulator import Simulation

    agencies = ["000.00.00.G01", "000.00.00.G12", "000.00.00.H29"]
    with dg.DagsterInstance.ephemeral() as instance:
        # Day 2 pulled at noon: its afternoon is missing until the re-pull below.
        noon = Simulation(seed=11, scale=0.02, faults="none", now=datetime(2025, 9, 9, 12, 0))
        pull(noon, tmp_path, monkeypatch, instance, [(a, d) for d in (DAY1, DAY2) for a in agencies])
        kpis(instance)
        first = sorted_frames(data_dir)

        later = Simulation(seed=11, scale=0.02, faults="none", now=datetime(2025, 9, 11, 6, 0))
        pull(later, tmp_path, monkeypatch, instance, [(a, d) for d in (DAY2, DAY3) for a in agencies])
        kpis(instance)
        incremental = sorted_frames(data_dir)

        kpis(instance)
        assert_same(incremental, sorted_frames(data_dir))

    states = incremental["int_dossier_state_intervals"]
    before = first["int_dossier_state_intervals"]
    assert len(states_on(states, DAY2)) > len(states_on(before, DAY2)), "day 2 was restated"
    assert (states["day"] == pd.Timestamp(DAY3)).any()
    # The restatement reached every mart, its day and its month: a mart left stale after the
    # re-pull would still hold the first figures, and differ from the full refresh below.
    for name in MARTS:
        for period, start in (("day", DAY2), ("month", DAY2.replace(day=1))):
            old, new = period_rows(first[name], period, start), period_rows(incremental[name], period, start)
            assert len(new) > 0 and not old.equals(new), f"{name} {period} {start} did not change with day 2"

    dbt("build", "--full-refresh")
    assert_same(incremental, sorted_frames(data_dir))


def dbt(*arguments: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "dbt"), *arguments, "--quiet", "--profiles-dir", "."],
                          cwd=DBT_DIR, check=check, capture_output=not check, text=True)


def failed_tests(target: Path) -> set[str]:
    results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]
    return {r["unique_id"].split(".")[2] for r in results if r["status"] in ("fail", "error")}


def staged(data, table: str) -> pd.DataFrame:
    frame = read_marts(data, [table])[table].drop(columns=["landed_modified"])
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def agency_day(frame: pd.DataFrame, agency: str, day: date) -> pd.DataFrame:
    return frame[(frame["agency_code"] == agency) & (pd.to_datetime(frame["day"]) == pd.Timestamp(day))]


def test_the_staging_tables_read_only_the_files_that_changed(data_dir, tmp_path, monkeypatch):
    from simulator import Simulation

    agencies = ["000.00.00.G01", "000.00.00.H29"]
    with dg.DagsterInstance.ephemeral() as instance:
        pull(Simulation(seed=11, scale=0.01, faults="none", now=datetime(2025, 9, 11, 6, 0)), tmp_path, monkeypatch,
             instance, [(a, d) for d in (DAY1, DAY2) for a in agencies])
        kpis(instance)
    partition = data_dir / "validated" / "partitions" / f"date={DAY1}" / f"agency={agencies[0]}" / "partition.parquet"
    before = staged(data_dir, "stg_validated_partitions")
    landed = partition.stat()
    table = pq.read_table(partition)
    pq.write_table(table.set_column(table.schema.get_field_index("quarantined"), "quarantined",
                                    pa.array([123_456], pa.int64())), partition)
    # Rewritten, but given back its modification time: to the listing, a file left alone.
    os.utime(partition, ns=(landed.st_atime_ns, landed.st_mtime_ns))
    dbt("build", "--select", "stg_validated_partitions")
    assert staged(data_dir, "stg_validated_partitions").equals(before), "a file left alone was read again"

    os.utime(partition, ns=(landed.st_atime_ns, landed.st_mtime_ns + 2 * 10**9))  # re-landed: a newer time
    catalogue = data_dir / "validated" / "procedures" / f"date={DAY2}" / f"agency={agencies[1]}" / "procedures.parquet"
    catalogue.unlink()  # a re-pull blocked: the agency-day leaves validated/
    dbt("build", "--select", "stg_validated_partitions", "stg_procedures", "dim_procedures")
    incremental = {name: staged(data_dir, name) for name in STAGING}
    history = sorted_frames(data_dir)["dim_procedures"]
    assert agency_day(incremental["stg_validated_partitions"], agencies[0], DAY1)["quarantined"].tolist() == [123_456]
    assert agency_day(incremental["stg_procedures"], agencies[1], DAY2).empty
    assert not agency_day(incremental["stg_procedures"], agencies[0], DAY2).empty
    # The catalogue history follows the pull that left: that agency's versions end on DAY1 again.
    gone = history[history["agency_code"] == agencies[1]]
    assert len(gone) > 0 and gone["valid_to"].isna().all() and (gone["valid_from"] <= pd.Timestamp(DAY1)).all()
    dbt("build", "--select", "stg_validated_partitions", "stg_procedures", "dim_procedures", "--full-refresh")
    for name in STAGING:
        pd.testing.assert_frame_equal(incremental[name], staged(data_dir, name), obj=name)
    pd.testing.assert_frame_equal(history, sorted_frames(data_dir)["dim_procedures"], obj="dim_procedures")

    # The dossier tests read the days about to be rebuilt: a bad version in a day no build
    # restates is not read; once its day is re-landed (a new content_sha256), it fails the build.
    versions = data_dir / "validated" / "dossiers" / f"date={DAY2}" / f"agency={agencies[0]}" / "dossiers.parquet"
    table = pq.read_table(versions)
    statuses = table.column("status").to_pylist()
    pq.write_table(table.set_column(table.schema.get_field_index("status"), table.schema.field("status"),
                                    pa.array([11, *statuses[1:]], table.schema.field("status").type)), versions)
    target = tmp_path / "dbt-target"
    selected = ["build", "--select", "stg_validated_partitions", "stg_dossier_versions", "--target-path", str(target)]
    assert dbt(*selected, check=False).returncode == 0
    assert failed_tests(target) == set()
    partition = data_dir / "validated" / "partitions" / f"date={DAY2}" / f"agency={agencies[0]}" / "partition.parquet"
    table = pq.read_table(partition)
    pq.write_table(table.set_column(table.schema.get_field_index("content_sha256"), "content_sha256",
                                    pa.array(["re-landed"], pa.string())), partition)
    assert dbt(*selected, check=False).returncode != 0
    assert failed_tests(target) == {"accepted_values_stg_dossier_versions_status__False__1__2__3__4__5__6__7__8__9__10"}


def test_what_leaves_or_changes_in_validated_after_a_build_reaches_every_table(data_dir, tmp_path, monkeypatch):
    """A re-pull that fails its blocking checks takes the agency-day out of validated/
    (paths.unpublish_validated): the next build drops what it had built from that day, as an
    agency's last day and as a day with later ones. A catalogue re-pulled alone (blocked, or
    landed with other contents) reaches the coverage figures of its periods."""
    from pipelines.lib import paths
    from simulator import Simulation

    last, middle, catalogued = "000.00.00.G01", "000.00.00.H29", "000.00.00.G12"
    with dg.DagsterInstance.ephemeral() as instance:
        pull(Simulation(seed=11, scale=0.02, faults="none", now=datetime(2025, 9, 11, 6, 0)), tmp_path, monkeypatch,
             instance, [(a, d) for d in (DAY1, DAY2, DAY3) for a in (last, middle, catalogued)])
        kpis(instance)
        before = sorted_frames(data_dir)
        paths.unpublish_validated(last, DAY3)
        paths.unpublish_validated(middle, DAY2)
        catalogue_of = lambda day: data_dir / "validated" / "procedures" / f"date={day}" / f"agency={catalogued}" / "procedures.parquet"
        catalogue_of(DAY2).unlink()
        table = pq.read_table(catalogue_of(DAY3))
        levels = table.column("online_level").to_pylist()
        pq.write_table(table.set_column(table.schema.get_field_index("online_level"), table.schema.field("online_level"),
                                        pa.array(["full_process"] * len(levels), table.schema.field("online_level").type)),
                       catalogue_of(DAY3))
        kpis(instance)
        incremental = sorted_frames(data_dir)

    for name in ("int_dossier_state_intervals", "int_kpi_agency_daily"):
        assert not agency_day(before[name], last, DAY3).empty and not agency_day(before[name], middle, DAY2).empty
        assert agency_day(incremental[name], last, DAY3).empty, f"{name} kept {last} {DAY3}"
        assert agency_day(incremental[name], middle, DAY2).empty, f"{name} kept {middle} {DAY2}"
    coverage = lambda tables, day: tables["kpi_service_coverage"][
        (tables["kpi_service_coverage"]["agency_code"] == catalogued) & (tables["kpi_service_coverage"]["period"] == "day")
        & (tables["kpi_service_coverage"]["period_start"] == pd.Timestamp(day))].reset_index(drop=True)
    assert coverage(before, DAY2)["procedures_total"].notna().all() and coverage(incremental, DAY2)["procedures_total"].isna().all()
    assert (coverage(incremental, DAY3)["procedures_full_process"] > coverage(before, DAY3)["procedures_full_process"]).all()
    dbt("build", "--full-refresh")
    assert_same(incremental, sorted_frames(data_dir))

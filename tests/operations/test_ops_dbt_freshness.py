"""dbt source freshness on the landed sources: an agency-day is as of its end, in Vietnam time."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pipelines.lib import paths
from pipelines.lib.landing import partition_path, write_parquet_atomic
from pipelines.lib.reference import PROCEDURE_SCHEMA
from pipelines.settings import DBT_PROJECT_DIR, TIMEZONE
from tests.operations.conftest import write_agency_day


def test_fresh_partitions_pass_and_a_stale_catalogue_errors(data_dir, tmp_path):
    today = datetime.now(TIMEZONE).date()
    yesterday, stale = today - timedelta(days=1), today - timedelta(days=10)
    write_agency_day("000.00.00.H01", yesterday, 12)
    procedure = {"agency_code": "000.00.00.H01", "day": stale, "procedure_code": "1.001234", "procedure_name": "x",
                 "field": "y", "handling_days": 5, "has_fee": False, "fee_vnd": 0, "online_level": "partial",
                 "eligible_full_process": False}
    write_parquet_atomic([procedure], PROCEDURE_SCHEMA,
                         paths.validated_procedures_file("000.00.00.H01", stale))
    (data_dir / "warehouse").mkdir()  # dbt opens the warehouse file (and creates it, not its folder)
    dbt = Path(sys.executable).parent / "dbt"
    result = subprocess.run(
        [str(dbt), "source", "freshness", "--profiles-dir", ".", "--target-path", str(tmp_path / "target"),
         "--log-path", str(tmp_path / "logs"), "--select", "source:landed.partitions", "source:landed.procedures"],
        cwd=DBT_PROJECT_DIR, capture_output=True, text=True,
    )
    assert result.returncode == 1, result.stdout[-2000:]  # a source in error fails the command
    sources = {r["unique_id"].split(".")[-1]: r for r in json.loads((tmp_path / "target" / "sources.json").read_text())["results"]}
    assert sources["partitions"]["status"] == "pass" and sources["procedures"]["status"] == "error"
    # Loaded at the end of the newest day: midnight in Hanoi, 17:00 UTC the day before.
    end_of_yesterday = datetime.combine(today, datetime.min.time(), TIMEZONE).astimezone(timezone.utc)
    assert datetime.fromisoformat(sources["partitions"]["max_loaded_at"]) == end_of_yesterday

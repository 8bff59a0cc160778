"""`make run`: `python -m pipelines run` as a newcomer runs it, a day at a tiny scale."""

import json
import os
import subprocess
import sys

from pipelines.settings import REPO_ROOT


def test_the_run_command_builds_a_day_end_to_end_and_says_where_things_landed(tmp_path):
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EGOV_", "DAGSTER_"))}
    env.update({"EGOV_DATA_DIR": str(data), "EGOV_ALLOW_DEMO_KEY": "1"})
    # Two days of look-back instead of 90 keep it quick; what they are for is tested in test_stock_history.
    done = subprocess.run([sys.executable, "-m", "pipelines", "run", "--days", "1", "--scale", "0.002", "--lookback-days", "2"],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    planned = len(list((data / "validated" / "partitions").glob("date=*/agency=*/partition.parquet")))
    assert planned > 3 * 40  # every agency reporting on each day, the look-back's two included
    assert f"{planned}/{planned}" in done.stderr  # the progress bar reached its end
    assert f"{planned} agency-days in 2 runs" in done.stdout and f"Open data: {data / 'open' / 'latest'}/" in done.stdout
    assert "submitted to the instance" in done.stdout  # the registry, then the days: through the daemon
    assert "With 2 days of look-back not held yet" in done.stdout
    package = json.loads((data / "open" / "latest" / "datapackage.json").read_text(encoding="utf-8"))
    assert package["version"] == "1.0.0"
    assert (data / "dagster" / "dagster.yaml").exists()  # the persistent instance `make ui` opens
    assert list((data / "dbt" / "builds").glob("*/run_results.json"))  # the dbt build's artifacts, in the data dir

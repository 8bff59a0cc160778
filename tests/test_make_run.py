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
    done = subprocess.run([sys.executable, "-m", "pipelines", "run", "--days", "1", "--scale", "0.002"],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    planned = len({p.parent.name for p in (data / "validated" / "partitions").glob("date=*/agency=*/partition.parquet")})
    assert planned > 40  # every agency reporting on the day
    assert f"{planned}/{planned}" in done.stderr  # the progress bar reached its end
    assert f"{planned} agency-days in 2 runs" in done.stdout and f"Open data: {data / 'open' / 'latest'}/" in done.stdout
    assert "submitted to the instance" in done.stdout  # the registry, then the day: through the daemon
    package = json.loads((data / "open" / "latest" / "datapackage.json").read_text(encoding="utf-8"))
    assert package["version"] == "1.0.0"
    assert (data / "dagster" / "dagster.yaml").exists()  # the persistent instance `make ui` opens
    assert list((data / "dbt" / "builds").glob("*/run_results.json"))  # the dbt build's artifacts, in the data dir

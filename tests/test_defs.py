"""A snapshot of the whole Dagster graph: assets (keys, groups, partitions, backfill policies,
dependencies), checks, jobs, schedules and sensors. A change to any of them shows up here and
in review; accept a deliberate one with `pytest tests/test_defs.py --snapshot-update`."""

import os
import subprocess
import sys

from pipelines.definitions import defs
from pipelines.defs.partitions import DAYS_PER_RUN, DAYS_PER_RUN_ENV


def describe_graph() -> dict:
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        policy = node.backfill_policy
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "partitions": type(node.partitions_def).__name__ if node.partitions_def else None,
            "backfill_policy": f"{policy.policy_type.value}:{policy.max_partitions_per_run}" if policy else None,
            "executable": node.is_executable,
            "deps": sorted(parent.to_user_string() for parent in node.parent_keys),
            "pool": node.pools and sorted(node.pools),
        }
    checks = sorted(f"{key.asset_key.to_user_string()}:{key.name}:{'blocking' if graph.get_check_spec(key).blocking else 'warn'}"
                    for key in graph.asset_check_keys)
    repository = defs.get_repository_def()
    return {
        "assets": assets,
        "checks": checks,
        "jobs": {job.name: sorted(k.to_user_string() for k in job.asset_layer.selected_asset_keys)
                 for job in repository.get_all_jobs() if not job.name.startswith("__")},
        "schedules": {s.name: [s.job_name, s.cron_schedule, s.execution_timezone] for s in repository.schedule_defs},
        "sensors": {s.name: [sorted(t.job_name for t in s.targets), s.minimum_interval_seconds,
                             s.default_status.value] for s in repository.sensor_defs},
    }


def test_the_asset_graph_is_what_the_snapshot_says(snapshot):
    assert describe_graph() == snapshot


def test_a_deployment_sets_the_days_per_run():
    """`EGOV_DAYS_PER_RUN` reaches every backfill policy of a freshly loaded code location."""
    program = ("from pipelines.definitions import defs\n"
               "graph = defs.resolve_asset_graph()\n"
               "print(sorted({graph.get(k).backfill_policy.max_partitions_per_run\n"
               "              for k in graph.get_all_asset_keys() if graph.get(k).backfill_policy}))")
    shown = subprocess.run([sys.executable, "-c", program], env={**os.environ, DAYS_PER_RUN_ENV: "3"},
                           capture_output=True, text=True, timeout=300, check=True)
    assert shown.stdout.strip() == "[3]", shown.stdout + shown.stderr
    assert DAYS_PER_RUN == 14  # this process, without the variable: the snapshot's default

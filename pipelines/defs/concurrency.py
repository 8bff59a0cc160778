"""Pool limits, set on the instance: dagster.yaml can give pools a default limit and a
granularity, but not a limit of their own.

`duckdb_writer`: 1, the warehouse file has one writer (dbt, then the export). `agency_api`: how
many runs may call the agencies at once; each run pulls up to EGOV_PULL_THREADS agencies side by
side, one request at a time per agency (pipelines/lib/pulls.py), so an agency sees at most this
many requests at once. Two, on a two-core machine: the parsing is CPU-bound. `python -m pipelines ui` applies them to the embedded
instance; a production deployment applies them once with `dagster instance concurrency set`
(docs/operations.md).
"""

from __future__ import annotations

import dagster as dg

POOL_LIMITS = {"duckdb_writer": 1, "agency_api": 2}


def apply_pool_limits(instance: dg.DagsterInstance, limits: dict[str, int] = POOL_LIMITS) -> None:
    """Set each pool's limit where it differs (idempotent: slots in use are kept)."""
    storage = instance.event_log_storage
    for pool, limit in limits.items():
        if storage.get_concurrency_info(pool).slot_count != limit:
            storage.set_concurrency_slots(pool, limit)

"""Pool limits, set on the instance: dagster.yaml can give pools a default limit and a
granularity, but not a limit of their own.

`duckdb_writer`: 1, the warehouse file has one writer (dbt, then the export). `agency_api`: how
many runs may call the agencies at once; each agency is further limited to one run at a time by
the run tag limit in dagster.yaml. `python -m pipelines ui` applies them to the embedded
instance; a production deployment applies them once with `dagster instance concurrency set`
(docs/operations.md).
"""

from __future__ import annotations

import dagster as dg

POOL_LIMITS = {"duckdb_writer": 1, "agency_api": 8}


def apply_pool_limits(instance: dg.DagsterInstance, limits: dict[str, int] = POOL_LIMITS) -> None:
    """Set each pool's limit where it differs (idempotent: slots in use are kept)."""
    storage = instance.event_log_storage
    for pool, limit in limits.items():
        if storage.get_concurrency_info(pool).slot_count != limit:
            storage.set_concurrency_slots(pool, limit)

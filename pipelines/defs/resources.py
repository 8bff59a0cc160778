"""Resources: the agency API client and the hashing key, configured from the environment."""

from contextlib import contextmanager
from datetime import date

import dagster as dg
from pydantic import PrivateAttr

from pipelines.defs.partitions import DAILY_PARTITIONS
from pipelines.lib.agency_api import AgencyApiClient, SourceLimits, load_tokens
from pipelines.lib.day_locks import days_locked
from pipelines.lib.pii import hash_key_from_env


class AgencyApi(dg.ConfigurableResource):
    """The agencies' one-stop-shop APIs: one client per run, tokens from a file.

    Timeouts, deadlines and caps left unset (None) come from `SourceLimits`: its defaults, or
    EGOV_SOURCE_<FIELD> in the environment (docs/operations.md, 'Misbehaving agencies')."""

    base_url: str
    tokens_file: str = ""
    page_size: int | None = None
    connect_timeout_seconds: float | None = None
    read_timeout_seconds: float | None = None
    page_deadline_seconds: float | None = None
    agency_day_deadline_seconds: float | None = None
    max_pages: int | None = None
    max_page_bytes: int | None = None
    max_page_records: int | None = None
    max_retries: int | None = None
    backoff_factor: float | None = None
    retry_after_max_seconds: float | None = None

    _client: AgencyApiClient | None = PrivateAttr(default=None)

    def client(self) -> AgencyApiClient:
        if self._client is None:
            overrides = {name: getattr(self, name) for name in type(self).model_fields if name not in ("base_url", "tokens_file")}
            self._client = AgencyApiClient(
                self.base_url, load_tokens(self.tokens_file), SourceLimits.from_env(**overrides)
            )
        return self._client


class HashKey(dg.ConfigurableResource):
    """The HMAC key for applicants' ID numbers. `allow_demo_key` is for the demo and tests only."""

    allow_demo_key: bool = False

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """A run without a usable key stops here, before any step pulls data."""
        self.key()

    def key(self) -> bytes:
        return hash_key_from_env(allow_demo=self.allow_demo_key)


class DayLocks(dg.ConfigurableResource):
    """Holds the run's days locked for the whole run (pipelines/lib/day_locks.py): a run covering
    a day another run is ingesting waits for it, so two pulls of one agency-day never interleave."""

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext):
        run = context.dagster_run
        keys = []
        if run is not None:
            start = run.tags.get("dagster/asset_partition_range_start") or run.tags.get("dagster/partition")
            end = run.tags.get("dagster/asset_partition_range_end") or start
            if start:
                keys = DAILY_PARTITIONS.get_partition_keys_in_range(dg.PartitionKeyRange(start, end))
        with days_locked([date.fromisoformat(k) for k in keys]):
            yield self

"""Resources: the agency API client and the hashing key, configured from the environment."""

import dagster as dg
from pydantic import PrivateAttr

from pipelines.lib.agency_api import AgencyApiClient, SourceLimits, load_tokens
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

"""Client for the agencies' one-stop-shop APIs (contract: docs/source-api.md).

One `requests.Session` per client: connection reuse, timeouts, retries with exponential
backoff and jitter on 5xx and dropped connections, Retry-After honoured on 429. A page whose
body is cut short is fetched again. Tokens are sent, never logged.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Iterator

import orjson
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from pipelines.lib.payload import records_from_csv

RETRY_STATUSES = (429, 500, 502, 503, 504)


class SourceError(RuntimeError):
    """The source answered in a way no retry can fix; the message names agency and window."""


@dataclass
class Page:
    items: list[dict]
    total: int
    next_page_token: str | None
    bytes: int


@dataclass
class FetchStats:
    pages: int = 0
    retries: int = 0
    bytes: int = 0
    seconds: float = 0.0
    unreadable_pages: list[str] = field(default_factory=list)


def _ts(value: datetime) -> str:
    return value.strftime("%Y%m%d%H%M%S")


class AgencyApiClient:
    def __init__(
        self,
        base_url: str,
        tokens: dict[str, str],
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        max_retries: int = 6,
        backoff_factor: float = 0.2,
        page_size: int = 2000,
    ):
        self.base_url = base_url.rstrip("/")
        self._tokens = tokens
        self.timeout = (connect_timeout, read_timeout)
        self.max_retries = max_retries
        self.page_size = page_size
        retry = Retry(
            total=max_retries,
            connect=max_retries,
            read=max_retries,
            status=max_retries,
            other=max_retries,
            backoff_factor=backoff_factor,
            backoff_jitter=backoff_factor,
            backoff_max=10,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=8)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def __repr__(self) -> str:  # never show tokens
        return f"AgencyApiClient({self.base_url!r}, {len(self._tokens)} agency tokens)"

    def _headers(self, agency_code: str | None) -> dict[str, str]:
        if agency_code is None:
            return {}
        token = self._tokens.get(agency_code)
        if not token:
            raise SourceError(f"agency {agency_code}: no API token configured (see docs/operations.md)")
        return {"Authorization": f"Bearer {token}"}

    def _get(self, path: str, params: dict, agency_code: str | None, stats: FetchStats | None) -> requests.Response:
        started = time.perf_counter()
        response = self.session.get(
            f"{self.base_url}{path}", params=params, headers=self._headers(agency_code), timeout=self.timeout
        )
        if stats is not None:
            stats.seconds += time.perf_counter() - started
            history = getattr(getattr(response.raw, "retries", None), "history", ()) or ()
            stats.retries += len(history)
        if response.status_code != 200:
            where = f"agency {agency_code}" if agency_code else "agency registry"
            raise SourceError(
                f"{where}: GET {path} {params} answered {response.status_code} after retries: {response.text[:200]}"
            )
        return response

    def agencies(self) -> list[dict]:
        return self._get("/api/v1/agencies", {}, None, None).json()["items"]

    def procedures(self, agency_code: str, as_of: date) -> list[dict]:
        body = self._get(f"/api/v1/agencies/{agency_code}/procedures", {"as_of": as_of.isoformat()}, agency_code, None)
        return body.json()["items"]

    def _page(self, agency_code: str, params: dict, stats: FetchStats) -> Page:
        """One page, parsed; a body cut short in transit is fetched again."""
        path = f"/api/v1/agencies/{agency_code}/dossiers"
        for attempt in range(self.max_retries + 1):
            response = self._get(path, params, agency_code, stats)
            stats.bytes += len(response.content)
            try:
                return _parse_page(response)
            except (ValueError, KeyError) as exc:  # orjson.JSONDecodeError is a ValueError
                stats.retries += 1
                if attempt == self.max_retries:
                    raise SourceError(
                        f"agency {agency_code}: page {params.get('page_token') or 'first'} of window "
                        f"{params['updated_from']}–{params['updated_to']} unreadable after retries: {exc}"
                    ) from exc
                time.sleep(min(2**attempt * 0.1, 2))
        raise AssertionError("unreachable")

    def dossier_pages(self, agency_code: str, start: datetime, end: datetime, stats: FetchStats) -> Iterator[Page]:
        """Every page of dossier versions updated in [start, end), following the page token."""
        params = {"updated_from": _ts(start), "updated_to": _ts(end), "page_size": self.page_size}
        while True:
            page = self._page(agency_code, params, stats)
            stats.pages += 1
            yield page
            if not page.next_page_token:
                return
            params = {**params, "page_token": page.next_page_token}


def _parse_page(response: requests.Response) -> Page:
    content_type = response.headers.get("Content-Type", "")
    if content_type.startswith("text/csv"):
        text = response.content.decode("utf-8")
        total = int(response.headers["X-Total-Count"])
        items = list(records_from_csv(text))
        return Page(items, total, response.headers.get("X-Next-Page-Token") or None, len(response.content))
    body = orjson.loads(response.content)
    return Page(body["items"], int(body["total"]), body.get("next_page_token"), len(response.content))


def load_tokens(path: str | None) -> dict[str, str]:
    """Agency tokens from a JSON file {agency code: token}; an empty map where none is set."""
    if not path:
        return {}
    with open(path, encoding="utf-8") as fh:
        tokens = json.load(fh)
    if not isinstance(tokens, dict):
        raise SourceError(f"{path}: expected a JSON object mapping agency codes to tokens")
    return {str(k): str(v) for k, v in tokens.items()}

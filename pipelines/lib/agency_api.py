"""Client for the agencies' one-stop-shop APIs (contract: docs/source-api.md).

Every call ends in bounded time with a named outcome, however the agency's server behaves:
a deadline per page (its retries included) and per agency-day, caps on pages per window and
on a page's bytes and records, a page token that may never repeat, redirects followed only
within the agency's own origin, the content type checked, a refused token reported as a
credentials problem. What it will wait for and accept is `SourceLimits` (one place, overridable
from the environment or the AgencyApi resource; docs/operations.md).

Transport retries (5xx, dropped connections, 429 with Retry-After) are urllib3's; a body lost
or cut short in transit is fetched again. One `requests.Session` per thread, so one client
serves concurrent agency-days. Tokens are sent, never logged.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta
from typing import Callable, Iterator, Mapping
from urllib.parse import urljoin, urlsplit

import orjson
import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from pipelines.lib.columnar import PageRecords, read_json_page
from pipelines.lib.payload import records_from_csv

RETRY_STATUSES = (429, 500, 502, 503, 504)
CREDENTIAL_STATUSES = (401, 403)
ACCEPTED_TYPES = ("application/json", "text/csv")
ENV_PREFIX = "EGOV_SOURCE_"
CHUNK_BYTES = 1 << 16
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class SourceLimits:
    """What the client waits for and accepts from an agency. Each field can be overridden by
    the environment variable EGOV_SOURCE_<FIELD> (e.g. EGOV_SOURCE_PAGE_DEADLINE_SECONDS=30)."""

    connect_timeout_seconds: float = 5.0
    # Per socket read: a server that sends nothing for this long is dropped and retried.
    read_timeout_seconds: float = 60.0
    # One page, its retries and a slow body included; a page ends within this plus at most one
    # read timeout and one wait between retries.
    page_deadline_seconds: float = 120.0
    # Every page of one agency-day (a window), from the first request to the last byte.
    agency_day_deadline_seconds: float = 3600.0
    max_pages: int = 10_000
    max_page_bytes: int = 64 * 2**20
    max_page_records: int = 10_000
    max_retries: int = 6
    backoff_factor: float = 0.2
    retry_after_max_seconds: float = 30.0
    page_size: int = 2000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, **overrides) -> SourceLimits:
        """The defaults, then the environment, then `overrides` (None: not overridden)."""
        values = {}
        for spec in fields(cls):
            name = f"{ENV_PREFIX}{spec.name.upper()}"
            if environ.get(name):
                try:
                    values[spec.name] = type(spec.default)(environ[name])
                except ValueError:
                    raise SourceError(f"{name}={environ[name]!r} is not a number; fix or unset it "
                                      "(docs/operations.md, 'Misbehaving agencies')", retryable=False) from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


class SourceError(RuntimeError):
    """The source answered in a way the client cannot use; the message names agency, day, page
    and cause, and what to do.

    `retryable` is False where running the agency-day again cannot help until someone acts
    (credentials, a redirect off the agency's origin, paging that loops, a page over a cap)."""

    def __init__(self, message: str, *, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class _Deadline:
    """A monotonic time to finish by, and what it is (for the message)."""

    at: float
    what: str

    def left(self) -> float:
        return self.at - time.monotonic()


class _BodyLost(Exception):
    """A response body that broke off or could not be parsed: worth fetching again."""


class _ForeignRedirect(requests.RequestException):
    def __init__(self, target: str):
        super().__init__(target)
        self.target = target


@dataclass
class Page:
    records: PageRecords
    total: int
    next_page_token: str | None
    bytes: int

    @property
    def items(self) -> list:
        """The records as Python objects (decoded on first use when Arrow read the page)."""
        return self.records.records


@dataclass
class FetchStats:
    pages: int = 0
    retries: int = 0
    bytes: int = 0
    seconds: float = 0.0


def _ts(value: datetime) -> str:
    return value.strftime("%Y%m%d%H%M%S")


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port made explicit."""
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(parts.scheme)


class _DeadlineRetry(Retry):
    """urllib3's retries, given up once a deadline (monotonic) has passed: a page's time
    includes its retries, so a server that stalls before answering cannot multiply it."""

    def __init__(self, *args, deadline: float = float("inf"), **kwargs):
        super().__init__(*args, **kwargs)
        self.deadline = deadline

    def new(self, **kw) -> _DeadlineRetry:
        return super().new(**{"deadline": self.deadline, **kw})

    def is_exhausted(self) -> bool:
        return super().is_exhausted() or time.monotonic() > self.deadline


class _OwnOriginSession(requests.Session):
    """A session that follows a redirect only when it stays on the agency API's origin: data
    from anywhere else would be landed and published as the agency's."""

    def __init__(self, allowed_origin: tuple):
        super().__init__()
        self.allowed_origin = allowed_origin
        self.max_redirects = MAX_REDIRECTS
        self._environment: dict = {}

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        # The environment's proxies and CA bundle, read once: every URL of the session is on
        # one origin, and reading them per request was a twentieth of ingesting an agency-day.
        key = (stream, verify, cert, tuple(sorted((proxies or {}).items())))
        if key not in self._environment:
            self._environment[key] = super().merge_environment_settings(url, proxies, stream, verify, cert)
        return dict(self._environment[key])

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        target = super().get_redirect_target(resp)
        if target is not None and origin(urljoin(resp.url, target)) != self.allowed_origin:
            raise _ForeignRedirect(urljoin(resp.url, target))
        return target


class AgencyApiClient:
    """Every agency's API behind one base URL; safe to share between threads (one session each)."""

    def __init__(self, base_url: str, tokens: dict[str, str], limits: SourceLimits | None = None, **overrides):
        """`limits` (default: SourceLimits.from_env()), then any SourceLimits field as a keyword."""
        self.base_url = base_url.rstrip("/")
        self._tokens = tokens
        self.limits = replace(limits or SourceLimits.from_env(), **overrides)
        self._origin = origin(self.base_url)
        self._local = threading.local()
        limits = self.limits
        self._retry = _DeadlineRetry(
            total=limits.max_retries,
            connect=limits.max_retries,
            read=limits.max_retries,
            status=limits.max_retries,
            other=limits.max_retries,
            backoff_factor=limits.backoff_factor,
            backoff_jitter=limits.backoff_factor,
            backoff_max=10,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=True,
            retry_after_max=limits.retry_after_max_seconds,
            raise_on_status=False,
        )

    def __repr__(self) -> str:  # never show tokens
        return f"AgencyApiClient({self.base_url!r}, {len(self._tokens)} agency tokens)"

    def _session(self, deadline: _Deadline) -> requests.Session:
        """This thread's session (requests.Session is not documented as thread-safe), its
        transport retries given up once `deadline` has passed."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = _OwnOriginSession(self._origin)
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=8)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        session.get_adapter(self.base_url).max_retries = self._retry.new(deadline=deadline.at)
        return session

    def _headers(self, agency_code: str | None) -> dict[str, str]:
        if agency_code is None:
            return {}
        token = self._tokens.get(agency_code)
        if not token:
            raise SourceError(f"agency {agency_code}: no API token configured; add it to EGOV_AGENCY_TOKENS_FILE "
                              "(docs/operations.md)", retryable=False)
        return {"Authorization": f"Bearer {token}"}

    def _fetch(self, path: str, params: dict, agency_code: str | None, where: str, deadline: _Deadline,
               stats: FetchStats) -> tuple[bytes, requests.structures.CaseInsensitiveDict]:
        """One GET (urllib3 retrying the transport), its body read against `deadline` and the size cap."""
        limits = self.limits
        remaining = deadline.left()
        if remaining <= 0:
            raise _late(where, deadline, 0)
        started = time.perf_counter()
        try:
            response = self._session(deadline).get(
                f"{self.base_url}{path}", params=params, headers=self._headers(agency_code), stream=True,
                timeout=(limits.connect_timeout_seconds, min(limits.read_timeout_seconds, remaining)),
            )
        except _ForeignRedirect as exc:
            raise SourceError(
                f"{where}: redirected to {exc.target}, off the agency API's origin {self.base_url}; refused, nothing "
                "from it is landed. Ask the agency where its API now lives and update EGOV_SOURCE_URL.",
                retryable=False,
            ) from None
        except requests.TooManyRedirects as exc:
            raise SourceError(f"{where}: more than {MAX_REDIRECTS} redirects ({exc}); raise it with the agency.",
                              retryable=False) from None
        except requests.RequestException as exc:
            if deadline.left() <= 0:
                raise _late(where, deadline, 0) from exc
            raise SourceError(f"{where}: no usable answer after {limits.max_retries} retries: "
                              f"{type(exc).__name__}: {exc}. Rerun the agency-day; if it persists, raise it with "
                              "the agency.") from exc
        with response:
            history = getattr(getattr(response.raw, "retries", None), "history", ()) or ()
            stats.retries += len(history)
            self._check_answer(response, where)
            body = self._read_body(response, where, deadline)
        stats.seconds += time.perf_counter() - started
        stats.bytes += len(body)
        return body, response.headers

    def _check_answer(self, response: requests.Response, where: str) -> None:
        """A refused token, an error status or a body that is not the API's: say which."""
        status = response.status_code
        if status in CREDENTIAL_STATUSES:
            raise SourceError(
                f"{where}: the agency refused the API token ({status} {response.reason}): credentials problem, not "
                "retried. Check this agency's token in EGOV_AGENCY_TOKENS_FILE, or ask the agency for a new one "
                "(docs/operations.md, 'Rotate secrets').",
                retryable=False,
            )
        if status != 200:
            raise SourceError(f"{where}: answered {status} after {self.limits.max_retries} retries: "
                              f"{_snippet(response)}. Rerun the agency-day; if it persists, raise it with the agency.")
        content_type = response.headers.get("Content-Type", "")
        if not content_type.startswith(ACCEPTED_TYPES):
            kind = "an HTML page" if "html" in content_type else f"content of type {content_type or 'unknown'}"
            raise SourceError(
                f"{where}: answered 200 with {kind}, not the API's JSON or CSV ({_snippet(response)}); the agency's "
                "system is likely down for maintenance or behind a login page. Rerun the agency-day later; if it "
                "persists, raise it with the agency."
            )

    def _read_body(self, response: requests.Response, where: str, deadline: _Deadline) -> bytes:
        """The body, chunk by chunk as it arrives (read1: never waits for a full chunk), so a
        server dripping bytes meets the deadline and an endless one meets the size cap."""
        cap = self.limits.max_page_bytes
        body = bytearray()
        while True:
            if deadline.left() < 0:
                raise _late(where, deadline, len(body))
            try:
                chunk = response.raw.read1(CHUNK_BYTES, decode_content=True)
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise _BodyLost(f"the body broke off after {len(body)} bytes: {type(exc).__name__}: {exc}") from exc
            if not chunk:
                return bytes(body)
            body += chunk
            if len(body) > cap:
                raise SourceError(
                    f"{where}: the page is larger than the cap of {cap:,} bytes ({ENV_PREFIX}MAX_PAGE_BYTES); "
                    "refused, nothing of it is landed. Lower the page size, or raise the cap if the agency's records "
                    "are that large.",
                    retryable=False,
                )

    def _get_parsed(self, path: str, params: dict, agency_code: str | None, where: str, parse: Callable,
                    stats: FetchStats, day_deadline: _Deadline | None = None):
        """`parse(body, headers)` of one answer within a page deadline (or the agency-day's, if
        sooner); a body lost or unreadable in transit is fetched again, within the same deadline."""
        page_seconds = self.limits.page_deadline_seconds
        deadline = _Deadline(time.monotonic() + page_seconds, f"{page_seconds:g} s for a page, "
                             f"{ENV_PREFIX}PAGE_DEADLINE_SECONDS")
        if day_deadline is not None and day_deadline.at < deadline.at:
            deadline = day_deadline
        for attempt in range(self.limits.max_retries + 1):
            try:
                body, headers = self._fetch(path, params, agency_code, where, deadline, stats)
                return parse(body, headers)
            except (_BodyLost, ValueError, KeyError) as exc:  # orjson.JSONDecodeError is a ValueError
                if attempt == self.limits.max_retries:
                    raise SourceError(f"{where}: unreadable after {attempt + 1} attempts: {exc}. Rerun the "
                                      "agency-day; if it persists, raise it with the agency.") from exc
                stats.retries += 1
                time.sleep(max(0.0, min(2**attempt * 0.1, 2, deadline.left())))
        raise AssertionError("unreachable")

    def agencies(self) -> list[dict]:
        return self._get_parsed("/api/v1/agencies", {}, None, "agency registry", _json_items, FetchStats())

    def procedures(self, agency_code: str, as_of: date) -> list[dict]:
        return self._get_parsed(f"/api/v1/agencies/{agency_code}/procedures", {"as_of": as_of.isoformat()},
                                agency_code, f"agency {agency_code}, procedure catalogue as of {as_of}", _json_items,
                                FetchStats())

    def dossier_pages(self, agency_code: str, start: datetime, end: datetime, stats: FetchStats) -> Iterator[Page]:
        """Every page of dossier versions updated in [start, end), following the page token,
        within the agency-day deadline and the page cap; a token seen before ends it (a loop)."""
        limits = self.limits
        day_deadline = _Deadline(time.monotonic() + limits.agency_day_deadline_seconds,
                                 f"{limits.agency_day_deadline_seconds:g} s for the agency-day, "
                                 f"{ENV_PREFIX}AGENCY_DAY_DEADLINE_SECONDS")
        window = f"day {start.date()}" if end - start == timedelta(days=1) else f"window {start}–{end}"
        path = f"/api/v1/agencies/{agency_code}/dossiers"
        params = {"updated_from": _ts(start), "updated_to": _ts(end), "page_size": limits.page_size}
        followed: dict[str, int] = {}
        for number in range(1, limits.max_pages + 1):
            where = f"agency {agency_code}, {window}, page {number}"
            page = self._get_parsed(path, params, agency_code, where, _parse_page, stats, day_deadline)
            if len(page.records) > limits.max_page_records:
                raise SourceError(f"{where}: {len(page.records):,} records in one page, over the cap of "
                                  f"{limits.max_page_records:,} ({ENV_PREFIX}MAX_PAGE_RECORDS; {limits.page_size} "
                                  "were asked for); refused. Raise it with the agency.", retryable=False)
            stats.pages += 1
            yield page
            token = page.next_page_token
            if not token:
                return
            if token in followed:
                raise SourceError(f"{where}: the next-page token repeats the one page {followed[token]} returned: the "
                                  "agency's paging loops; stopped, nothing of the day is landed. Raise it with the "
                                  "agency.", retryable=False)
            followed[token] = number
            params = {**params, "page_token": token}
        raise SourceError(f"agency {agency_code}, {window}: more than {limits.max_pages:,} pages "
                          f"({ENV_PREFIX}MAX_PAGES) and the paging has not ended; stopped, nothing of the day is landed. "
                          "Raise it with the agency.", retryable=False)


def _late(where: str, deadline: _Deadline, received: int) -> SourceError:
    return SourceError(
        f"{where}: deadline exceeded ({deadline.what}; {received:,} bytes of this page received): the agency's "
        "server is too slow or stalled. Rerun the agency-day later; raise the deadline only if it is merely slow."
    )


def _snippet(response: requests.Response) -> str:
    """The start of a body, for an error message (never the whole of a large or endless one)."""
    try:
        head = response.raw.read1(200, decode_content=True)
    except (urllib3.exceptions.HTTPError, OSError):
        head = b""
    return repr(head.decode("utf-8", "replace")) if head else "empty body"


def _json_items(body: bytes, headers) -> list[dict]:
    return orjson.loads(body)["items"]


def _parse_page(body: bytes, headers) -> Page:
    """A page read by column where Arrow can read it as orjson would, else decoded as records."""
    if headers.get("Content-Type", "").startswith("text/csv"):
        items = records_from_csv(body.decode("utf-8"))
        return Page(PageRecords.of(items), int(headers["X-Total-Count"]), headers.get("X-Next-Page-Token") or None,
                    len(body))
    read = read_json_page(body)
    if read is not None:
        columns, total, token = read
        return Page(PageRecords(columns, lambda: orjson.loads(body)["items"], body), total, token, len(body))
    parsed = orjson.loads(body)
    return Page(PageRecords.of(parsed["items"]), int(parsed["total"]), parsed.get("next_page_token"), len(body))


def load_tokens(path: str | None) -> dict[str, str]:
    """Agency tokens from a JSON file {agency code: token}; an empty map where none is set."""
    if not path:
        return {}
    with open(path, encoding="utf-8") as fh:
        tokens = json.load(fh)
    if not isinstance(tokens, dict):
        raise SourceError(f"{path}: expected a JSON object mapping agency codes to tokens")
    return {str(k): str(v) for k, v in tokens.items()}

"""Shared HTTP for the live providers: JSON GETs with timeouts, retries, redaction and fan-out.

Every provider goes through :class:`JsonHttpClient`, so retry, backoff, ``Retry-After`` handling,
error classification, rate limits and key redaction live in one place. Errors are subclasses of
:class:`IntensityFetchError`; their text never holds an API key, password or token (callers pass
the secret values of a request in ``secrets`` and every message is scrubbed of them). The same
secrets are scrubbed from every body a server returns before it is cached or handed back, and
redirects are followed only within the origin asked: ``requests`` strips ``Authorization`` on a
cross-host redirect but forwards custom headers such as Electricity Maps' ``auth-token``.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import requests

from carbon_aware.intensity.cache import DiskCache

LOGGER = logging.getLogger(__name__)
REDACTED = "***"
DEFAULT_MAX_IN_FLIGHT = 20
MAX_SAME_ORIGIN_REDIRECTS = 5
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_MESSAGE_CHARS = 200
T = TypeVar("T")
R = TypeVar("R")


class IntensityFetchError(RuntimeError):
    """A carbon-intensity figure could not be fetched (network, HTTP status or bad payload)."""


class TransportError(IntensityFetchError):
    """No usable HTTP response: timeout, connection refused or reset, truncated body."""


class HttpStatusError(IntensityFetchError):
    """The server answered with an error status.

    Attributes:
        status: The HTTP status code.
        message: The server's own error text (``error``/``message`` fields), redacted and short.
        retry_after_s: The server's ``Retry-After`` hint in seconds, if any.
    """

    def __init__(
        self, text: str, status: int, message: str, retry_after_s: float | None = None
    ) -> None:
        super().__init__(text)
        self.status = status
        self.message = message
        self.retry_after_s = retry_after_s


class AuthError(HttpStatusError):
    """401 or 403: the key or account is refused. Never retried."""


class NotFoundError(HttpStatusError):
    """404: e.g. an unknown zone or region."""


class RateLimitedError(HttpStatusError):
    """429: too many requests (retried, honouring ``Retry-After``)."""


class ServerError(HttpStatusError):
    """5xx: a server-side failure (retried)."""


class BadResponseError(IntensityFetchError):
    """The body is not the JSON the docs describe: malformed, truncated, missing or bad fields."""


class RedirectRefusedError(IntensityFetchError):
    """The server redirected to another origin; not followed, so credentials stay put."""


_RETRYABLE = (TransportError, RateLimitedError, ServerError)


class RateLimit:
    """At most ``max_requests`` calls to :meth:`acquire` in any rolling ``window_s`` seconds.

    Callers block (``sleep``) until a slot frees up, so a burst stays inside a provider's
    published limit instead of drawing 429s.

    Args:
        max_requests: Calls allowed per window.
        window_s: Window length in seconds.
        clock: Monotonic clock in seconds (tests pass a fake).
        sleep: Wait function (tests pass one that advances the fake clock).
    """

    def __init__(
        self,
        max_requests: int,
        window_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_requests < 1 or not window_s > 0:
            raise ValueError(
                f"rate limit needs max_requests >= 1 and window_s > 0, "
                f"got {max_requests} per {window_s!r} s"
            )
        self.max_requests = max_requests
        self.window_s = float(window_s)
        self._clock = clock
        self._sleep = sleep
        self._stamps: list[float] = []
        self._lock = threading.Lock()
        self.waited_s = 0.0

    def __repr__(self) -> str:
        return f"RateLimit({self.max_requests} per {self.window_s:g} s)"

    def acquire(self) -> None:
        """Blocks until one more call fits in the window, then records it."""
        with self._lock:  # held while waiting: later callers queue behind the first
            while True:
                now = self._clock()
                self._stamps = [t for t in self._stamps if now - t < self.window_s]
                if len(self._stamps) < self.max_requests:
                    self._stamps.append(now)
                    return
                wait = self._stamps[0] + self.window_s - now
                self.waited_s += wait
                self._sleep(wait)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one request.

    Attributes:
        max_attempts: Attempts per request, first one included.
        timeout_s: Per-attempt connect and read timeout.
        backoff_base_s: First backoff ceiling; it doubles per attempt (full jitter below it).
        backoff_max_s: Largest backoff ceiling.
        retry_after_cap_s: Longest ``Retry-After`` wait honoured.
        deadline_s: Total time budget for one request, retries and waits included.
    """

    max_attempts: int = 4
    timeout_s: float = 10.0
    backoff_base_s: float = 0.5
    backoff_max_s: float = 8.0
    retry_after_cap_s: float = 30.0
    deadline_s: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts}")
        for name in ("timeout_s", "deadline_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")


def redact(text: str, secrets: Iterable[str]) -> str:
    """Returns ``text`` with every non-empty secret value replaced by ``***``."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def redact_json(value: Any, secrets: Iterable[str]) -> Any:
    """Returns a copy of a decoded JSON value with every secret scrubbed from keys and strings."""
    values = [s for s in secrets if s]
    if not values:
        return value
    if isinstance(value, str):
        return redact(value, values)
    if isinstance(value, list):
        return [redact_json(item, values) for item in value]
    if isinstance(value, dict):
        return {redact(str(k), values): redact_json(v, values) for k, v in value.items()}
    return value


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def describe_url(url: str, params: Mapping[str, str] | None = None) -> str:
    """Returns ``url`` with its query, minus any user:password part, for messages and logs."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    query = urlencode(sorted(params.items())) if params else parts.query
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def retry_after_s(value: str | None, now: datetime | None = None) -> float | None:
    """Parses a ``Retry-After`` header (seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _server_message(response: requests.Response) -> str:
    """The ``error``/``message`` text of an error body, or the start of the raw body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:_MESSAGE_CHARS].strip()
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("error", "message", "detail") if body.get(k)]
        if parts:
            return ": ".join(parts)[:_MESSAGE_CHARS]
    return json.dumps(body)[:_MESSAGE_CHARS]


class JsonHttpClient:
    """GETs JSON with a per-attempt timeout, bounded retries and a total deadline.

    Args:
        policy: Timeouts and retry limits.
        cache: Optional disk cache of successful bodies (keyed by URL and query, never headers).
        sleep: Wait function (tests pass a fake to stay fast).
        clock: Monotonic clock in seconds.
        rng: Random source for backoff jitter.
    """

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        cache: DiskCache | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.cache = cache
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    def get_json(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        secrets: Sequence[str] = (),
        cacheable: bool = True,
        limit: RateLimit | None = None,
    ) -> Any:
        """GETs ``url`` and returns the parsed JSON body, with ``secrets`` scrubbed from it.

        Args:
            url: Absolute URL.
            params: Query parameters (must not hold secrets: they reach logs and the cache key).
            headers: Request headers (may hold secrets; never logged, cached, echoed, or sent to
                another origin on a redirect).
            secrets: Secret values to scrub from every message and body this call produces.
            cacheable: Whether the body may be stored in and served from the disk cache.
            limit: Provider rate limit; every attempt, retries included, takes a slot.

        Returns:
            The decoded JSON value.

        Raises:
            AuthError: 401/403 (not retried).
            NotFoundError: 404 (not retried).
            RateLimitedError: 429 after the retries or deadline ran out.
            ServerError: 5xx after the retries or deadline ran out.
            TransportError: Timeouts or connection failures after the retries ran out.
            BadResponseError: The body is not valid JSON.
            RedirectRefusedError: A redirect to another origin (not followed, not retried).
        """
        where = describe_url(url, params)
        use_cache = cacheable and self.cache is not None
        if use_cache and self.cache is not None:
            hit = self.cache.get(where)
            if hit is not None:
                LOGGER.debug("cache hit for %s", where)
                return redact_json(hit, secrets)
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            if limit is not None:
                limit.acquire()
            remaining = self.policy.deadline_s - (self._clock() - started)
            try:
                body = self._attempt(url, params, headers, secrets, where, max(0.001, remaining))
            except _RETRYABLE as err:
                delay = self._delay(err, attempt)
                remaining = self.policy.deadline_s - (self._clock() - started)
                if attempt >= self.policy.max_attempts or delay >= remaining:
                    reason = "attempts" if attempt >= self.policy.max_attempts else "deadline"
                    raise type(err)(*_with_note(err, attempt, reason)) from None
                LOGGER.info("retrying %s in %.2f s after: %s", where, delay, err)
                self._sleep(delay)
                continue
            body = redact_json(body, secrets)
            if use_cache and self.cache is not None:
                self.cache.put(where, body)
            return body

    def _attempt(
        self,
        url: str,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        secrets: Sequence[str],
        where: str,
        timeout_s: float,
    ) -> Any:
        timeout = min(self.policy.timeout_s, timeout_s)
        response = self._follow(url, params, headers, secrets, where, timeout)
        status = response.status_code
        if status >= 400:
            message = redact(_server_message(response), secrets)
            text_ = f"GET {where}: HTTP {status}" + (f": {message}" if message else "")
            error_type: type[HttpStatusError] = HttpStatusError
            if status in (401, 403):
                error_type = AuthError
            elif status == 404:
                error_type = NotFoundError
            elif status == 429:
                error_type = RateLimitedError
            elif status >= 500:
                error_type = ServerError
            hint = retry_after_s(response.headers.get("Retry-After"))
            raise error_type(text_, status, message, hint)
        text = response.text
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise BadResponseError(
                f"GET {where}: body is not valid JSON ({err.msg} at char {err.pos} of {len(text)})"
            ) from None

    def _follow(
        self,
        url: str,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        secrets: Sequence[str],
        where: str,
        timeout: float,
    ) -> requests.Response:
        """GETs ``url``, following redirects only while they stay on the same origin."""
        origin = _origin(url)
        query: dict[str, str] | None = dict(params or {})
        for _ in range(MAX_SAME_ORIGIN_REDIRECTS + 1):
            try:
                response = self._session().get(
                    url,
                    params=query,
                    headers=dict(headers or {}),
                    timeout=timeout,
                    allow_redirects=False,
                )
                _ = response.text  # read the body now, so a truncated one fails here
            except requests.Timeout:
                raise TransportError(f"GET {where}: no response within {timeout:.2f} s") from None
            except requests.RequestException as err:
                cause = redact(f"{type(err).__name__}: {err}", secrets)
                raise TransportError(f"GET {where}: connection failed ({cause})") from None
            location = response.headers.get("Location")
            if response.status_code not in _REDIRECT_STATUSES or not location:
                return response
            target = urljoin(response.url or url, location)
            if _origin(target) != origin:
                scheme, host, port = _origin(target)
                raise RedirectRefusedError(
                    redact(
                        f"GET {where}: HTTP {response.status_code} redirect to another origin "
                        f"({scheme}://{host}:{port}) not followed, so the request's credentials "
                        "are not sent there; point the provider's base URL at the final host",
                        secrets,
                    )
                )
            url, query = target, None  # the Location carries its own query
        raise RedirectRefusedError(
            f"GET {where}: more than {MAX_SAME_ORIGIN_REDIRECTS} redirects; gave up"
        )

    def _delay(self, err: IntensityFetchError, attempt: int) -> float:
        """Seconds to wait before the next attempt: ``Retry-After`` (capped) or jittered backoff."""
        if isinstance(err, HttpStatusError) and err.retry_after_s is not None:
            return min(err.retry_after_s, self.policy.retry_after_cap_s)
        ceiling = min(self.policy.backoff_max_s, self.policy.backoff_base_s * 2 ** (attempt - 1))
        return self._rng.uniform(0.0, ceiling)


def _with_note(err: IntensityFetchError, attempt: int, reason: str) -> tuple[Any, ...]:
    """Constructor arguments for a copy of ``err`` that says why retrying stopped."""
    note = f" (gave up after {attempt} attempt{'s' if attempt > 1 else ''}: {reason} exhausted)"
    if isinstance(err, HttpStatusError):
        return (f"{err}{note}", err.status, err.message, err.retry_after_s)
    return (f"{err}{note}",)


def map_concurrently(
    items: Sequence[T], fetch: Callable[[T], R], *, max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
) -> list[R | IntensityFetchError]:
    """Calls ``fetch`` for every item on a bounded thread pool, keeping the input order.

    Args:
        items: Inputs, e.g. region ids.
        fetch: Fetches one item; may raise :class:`IntensityFetchError`.
        max_in_flight: Most calls running at once.

    Returns:
        Per item, the result or the fetch error it raised (other exceptions propagate).
    """
    if max_in_flight < 1:
        raise ValueError(f"max_in_flight must be >= 1, got {max_in_flight}")

    def guarded(item: T) -> R | IntensityFetchError:
        try:
            return fetch(item)
        except IntensityFetchError as err:
            return err

    if len(items) <= 1:
        return [guarded(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(max_in_flight, len(items))) as pool:
        return list(pool.map(guarded, items))


def require_field(payload: Mapping[str, Any], field: str, where: str) -> Any:
    """Returns ``payload[field]``, or raises :class:`BadResponseError` naming what is missing."""
    if not isinstance(payload, Mapping):
        raise BadResponseError(f"{where}: expected a JSON object, got {type(payload).__name__}")
    value = payload.get(field)
    if value is None:
        raise BadResponseError(f"{where}: field {field!r} is missing or null")
    return value


def require_intensity(value: Any, field: str, where: str) -> float:
    """Checks that a figure is a finite number >= 0 and returns it as a float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadResponseError(f"{where}: {field} is not a number ({value!r})")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise BadResponseError(f"{where}: {field} must be a finite number >= 0, got {number!r}")
    return number


def utc_timestamp(value: Any, where: str) -> str:
    """Normalises an ISO 8601 instant from a provider to ``YYYY-MM-DDTHH:MM:SSZ`` (UTC)."""
    if not isinstance(value, str):
        raise BadResponseError(f"{where}: timestamp is not a string ({value!r})")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadResponseError(f"{where}: unreadable timestamp {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def base_url(env_var: str, default: str) -> str:
    """Returns ``$env_var`` (read now, at call time) or ``default``, without a trailing slash."""
    return (os.environ.get(env_var, "").strip() or default).rstrip("/")

"""Calling a CRM's HTTP API politely: rate limit, Retry-After, bounded retries.

Every connector sends its requests through :class:`ApiClient`, which

* waits for a token of a client-side token bucket before each request
  (``requests_per_second``, ``burst``), so a big sync stays under the
  documented limits instead of provoking 429s;
* on ``429`` waits what ``Retry-After`` says (seconds or an HTTP date; else
  the reset header the CRM sends; else exponential back-off), then retries;
* retries ``5xx`` answers and connection errors with exponential back-off
  and jitter;
* gives up after ``max_attempts`` tries or ``deadline_s`` seconds, whichever
  comes first, with an error that says what to do; never retries ``4xx``
  other than 429 (a bad request stays bad), and turns ``401``/``403`` into
  :class:`CrmAuthError` at once.

The token travels only in a header; it never appears in a log line or an
error message (messages are scrubbed of it in case a server echoes it).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

# The CRM errors are part of the project's one error hierarchy (the outbox maps them to
# delivery failures without depending on the integrations); they are imported from here too.
from ..errors import CrmAuthError, CrmRequestError, CrmUnavailable
from ..errors import CrmError as CrmError

log = logging.getLogger("leadscore.integrations.crm")


class Clock:
    """Time as the client sees it; tests pass a fake that does not really sleep."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8  # tries per request, the first included
    backoff_base_s: float = 0.5  # first back-off after a 5xx or a connection error
    backoff_max_s: float = 30.0  # longest single back-off
    max_retry_after_s: float = 120.0  # a longer Retry-After is refused: give up, say when
    deadline_s: float = 900.0  # total time one request may spend, waits included


class RateLimiter:
    """A token bucket: ``rate`` requests per second on average, ``burst`` at once."""

    def __init__(self, rate: float, burst: int, clock: Clock):
        self.rate, self.capacity, self.clock = float(rate), float(max(1, burst)), clock
        self.tokens = self.capacity
        self.updated = clock.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until there is one; returns the seconds waited."""
        with self._lock:
            now = self.clock.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            wait = 0.0
            if self.tokens < 1:
                wait = (1 - self.tokens) / self.rate
                self.clock.sleep(wait)
                self.tokens = 1.0
                self.updated = self.clock.monotonic()
            self.tokens -= 1
            return wait


def retry_after_seconds(
    headers: Mapping[str, str], now: datetime, reset_header: str | None = None
) -> float | None:
    """Seconds to wait from ``Retry-After`` (delta or HTTP date) or a CRM's reset header."""
    value = headers.get("retry-after")
    if value is not None:
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return max(0.0, (when - now).total_seconds())
    if reset_header and headers.get(reset_header) is not None:
        try:
            return max(0.0, float(headers[reset_header]))
        except ValueError:
            return None
    return None


def scrub(text: str, secret: str | None) -> str:
    if secret:
        text = text.replace(secret, "***")
    return text


def _server_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        for key in ("message", "error", "error_info"):
            if isinstance(body.get(key), str):
                return body[key][:300]
    return str(body)[:200]


class ApiClient:
    """One CRM's HTTP API: base URL, auth header, limiter, retry policy."""

    def __init__(
        self,
        system: str,
        base_url: str,
        token: str,
        *,
        auth_headers: Callable[[str], dict[str, str]],
        policy: RetryPolicy | None = None,
        rate: float = 10.0,
        burst: int = 10,
        reset_header: str | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ):
        self.system = system
        self.token = token
        self.policy = policy or RetryPolicy()
        self.clock = clock or Clock()
        self.limiter = RateLimiter(rate, burst, self.clock)
        self.reset_header = reset_header
        self.rng = rng or random.Random(0)
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={**auth_headers(token), "User-Agent": "leadscore-crm/1"},
            timeout=timeout_s,
            transport=transport,
        )
        self.waited_s = 0.0  # total time spent waiting on limits and back-off
        self.retries = 0

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _backoff(self, attempt: int) -> float:
        p = self.policy
        base = min(p.backoff_max_s, p.backoff_base_s * (2 ** (attempt - 1)))
        return base * (0.5 + self.rng.random() / 2)

    def _wait(self, seconds: float) -> None:
        self.waited_s += seconds
        self.clock.sleep(seconds)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """Send one request until it succeeds or the policy gives up; returns the JSON body."""
        p = self.policy
        start = self.clock.monotonic()
        what = f"{self.system} {method} {path}"
        last = ""
        for attempt in range(1, p.max_attempts + 1):
            self.waited_s += self.limiter.acquire()
            try:
                response = self.client.request(method, path, params=params, json=json)
            except httpx.TransportError as exc:
                last = f"could not connect ({type(exc).__name__})"
                delay = self._backoff(attempt)
            else:
                status = response.status_code
                if 200 <= status < 300:
                    return response.json() if response.content else None
                if status in (401, 403):
                    raise CrmAuthError(
                        scrub(
                            f"{what}: the CRM answered {status} ({_server_message(response)}); "
                            f"check the token in the environment variable configured for "
                            f"{self.system} and that it has the contacts read/write scopes",
                            self.token,
                        )
                    )
                if status == 429:
                    hinted = retry_after_seconds(
                        response.headers, self.clock.now(), self.reset_header
                    )
                    if hinted is not None and hinted > p.max_retry_after_s:
                        raise CrmUnavailable(
                            f"{what}: rate limited and asked to wait {hinted:.0f} s, longer "
                            f"than max_retry_after_s={p.max_retry_after_s:.0f}; nothing more "
                            "was sent, run the sync again later (it resumes where it stopped)"
                        )
                    delay = hinted if hinted is not None else self._backoff(attempt)
                    last = "429 Too Many Requests"
                elif status >= 500:
                    delay = self._backoff(attempt)
                    last = f"{status} server error"
                else:
                    raise CrmRequestError(
                        scrub(f"{what}: {status} {_server_message(response)}", self.token),
                        status,
                    )
            if attempt == p.max_attempts:
                break
            if self.clock.monotonic() - start + delay > p.deadline_s:
                break
            self.retries += 1
            log.warning(
                "%s answered %s; retrying in %.1f s (attempt %d of %d)",
                what,
                last,
                delay,
                attempt + 1,
                p.max_attempts,
            )
            self._wait(delay)
        raise CrmUnavailable(
            f"{what}: gave up after {attempt} attempts (last: {last}); raise max_attempts or "
            "run the sync again later (changes not written are retried next time)"
        )

"""Outside enrichment services (a company-data API, an e-mail verifier).

An :class:`Enricher` looks at a contact and returns properties to fill in. It
may fail: it then raises :class:`Unavailable`, and :func:`apply_enrichers`
turns that into a :class:`Pending` entry (what to retry and when) instead of an
error, so the contact is scored with what is known and enriched again later.

:class:`HttpEnricher` is the ready-made one for JSON-over-HTTP services, with

* a **timeout** on every network operation;
* a **cache** of answers, kept ``cache_ttl`` seconds (a "not found" is an answer too);
* a **rate limit** (a token bucket of ``rate_limit`` calls per ``rate_period``
  seconds) that never waits: a call over the limit is marked for retry;
* **429 Too Many Requests** honoured (``Retry-After``), and a **pause** after
  ``max_failures`` failures in a row (time-outs, 5xx, refused connections), so
  a dead service costs nothing per contact until ``pause`` seconds have passed.

Time comes from an injectable ``clock`` (monotonic seconds) and retry times are
given as UTC datetimes from ``now``, so tests control both.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from ..engine import values as V

PENDING_PROPERTY = "enrichment_pending"


class Unavailable(Exception):
    """The enricher cannot answer now; try again after ``retry_after`` seconds."""

    def __init__(self, reason: str, retry_after: float):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@runtime_checkable
class Enricher(Protocol):
    """Anything with a ``name`` and ``enrich(contact) -> dict`` (raising :class:`Unavailable`)."""

    name: str

    def enrich(self, contact: Mapping[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Pending:
    """An enrichment to try again: which enricher, why it failed, and from when."""

    enricher: str
    reason: str
    retry_at: datetime

    def to_dict(self) -> dict[str, str]:
        return {
            "enricher": self.enricher,
            "reason": self.reason,
            "retry_at": self.retry_at.isoformat(),
        }


@dataclass
class Outcome:
    """The contact with what the enrichers found, and what is left to retry."""

    properties: dict[str, Any]
    added: dict[str, Any] = field(default_factory=dict)
    pending: list[Pending] = field(default_factory=list)


def apply_enrichers(
    contact: Mapping[str, Any],
    enrichers: Iterable[Enricher],
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Outcome:
    """Run each enricher on the contact, fill-only; never raises for a failing service.

    The returned properties carry ``enrichment_pending`` (the names of the
    enrichers to retry, comma-separated) when some failed, and none when all
    answered.
    """
    props = dict(contact)
    outcome = Outcome(properties=props)
    for enricher in enrichers:
        try:
            found = enricher.enrich(props)
        except Unavailable as exc:
            retry_at = now() + timedelta(seconds=max(exc.retry_after, 0.0))
            outcome.pending.append(Pending(enricher.name, exc.reason, retry_at))
            continue
        for name, value in found.items():
            if value is not None and V.is_missing(props.get(name)):
                props[name] = value
                outcome.added[name] = value
    if outcome.pending:
        props[PENDING_PROPERTY] = ",".join(p.enricher for p in outcome.pending)
    else:
        props.pop(PENDING_PROPERTY, None)
    return outcome


def _dig(document: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(document, Mapping):
            document = document.get(part)
        elif isinstance(document, list) and part.isdigit() and int(part) < len(document):
            document = document[int(part)]
        else:
            return None
    return document


@dataclass
class HttpEnricher:
    """A JSON-over-HTTP enrichment service.

    ``url`` may hold ``{property}`` placeholders, filled (URL-quoted) from the
    contact; ``params`` adds query parameters from contact properties
    (parameter → property). A contact missing any of them is skipped (no call).
    ``outputs`` maps each property to add to a dotted path in the JSON answer,
    e.g. ``{"company": "name", "employees": "metrics.employees"}``. A 404 answer
    means "nothing known" and adds nothing.
    """

    name: str
    url: str
    outputs: Mapping[str, str]
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 2.0
    cache_ttl: float = 24 * 3600.0
    rate_limit: int = 10
    rate_period: float = 1.0
    max_failures: int = 3
    pause: float = 60.0
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._tokens = float(self.rate_limit)
        self._refilled = self.clock()
        self._blocked_until = 0.0
        self._failures = 0
        self.calls = 0  # requests actually sent, for monitoring and tests

    # -- the request ---------------------------------------------------------------

    def request_url(self, contact: Mapping[str, Any]) -> str | None:
        """The URL to call for this contact, or None when an input is missing."""
        values: dict[str, str] = {}
        for _, prop, _, _ in _fields(self.url):
            if prop is None:
                continue
            text = V.text(contact.get(prop))
            if text is None or not text.strip():
                return None
            values[prop] = urllib.parse.quote(text.strip(), safe="")
        query = {}
        for param, prop in self.params.items():
            text = V.text(contact.get(prop))
            if text is None or not text.strip():
                return None
            query[param] = text.strip()
        url = self.url.format(**values)
        if query:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(sorted(query.items()))
        return url

    def forget(self, contact: Mapping[str, Any]) -> None:
        """Drop the cached answer for this contact (its request URL names it)."""
        url = self.request_url(contact)
        if url is not None:
            with self._lock:
                self._cache.pop(url, None)

    def enrich(self, contact: Mapping[str, Any]) -> dict[str, Any]:
        url = self.request_url(contact)
        if url is None:
            return {}
        with self._lock:
            now = self.clock()
            hit = self._cache.get(url)
            if hit is not None and hit[0] > now:
                return dict(hit[1])
            if now < self._blocked_until:
                raise Unavailable(
                    f"{self.name}: paused after failures or a 429", self._blocked_until - now
                )
            self._refill(now)
            if self._tokens < 1:
                wait = (1 - self._tokens) * self.rate_period / self.rate_limit
                raise Unavailable(
                    f"{self.name}: over the rate limit of {self.rate_limit} "
                    f"calls per {self.rate_period:g}s",
                    wait,
                )
            self._tokens -= 1
            self.calls += 1
        result = self._call(url)  # outside the lock: a slow call does not hold others
        with self._lock:
            self._failures = 0
            self._cache[url] = (self.clock() + self.cache_ttl, result)
        return dict(result)

    def _refill(self, now: float) -> None:
        elapsed = max(now - self._refilled, 0.0)
        self._tokens = min(
            float(self.rate_limit), self._tokens + elapsed * self.rate_limit / self.rate_period
        )
        self._refilled = now

    def _fail(self, reason: str, retry_after: float | None = None) -> Unavailable:
        with self._lock:
            self._failures += 1
            now = self.clock()
            if retry_after is not None:
                self._blocked_until = max(self._blocked_until, now + retry_after)
            elif self._failures >= self.max_failures:
                self._blocked_until = now + self.pause
                retry_after = self.pause
            return Unavailable(
                f"{self.name}: {reason}", retry_after if retry_after is not None else self.pause
            )

    def _call(self, url: str) -> dict[str, Any]:
        request = urllib.request.Request(
            url, headers={"Accept": "application/json", **dict(self.headers)}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return {}
            if exc.code == 429:
                after = _retry_after(exc.headers.get("Retry-After"), self.rate_period)
                raise self._fail("rate-limited by the service (429)", after) from None
            raise self._fail(f"HTTP {exc.code}") from None
        except TimeoutError:
            raise self._fail(f"no answer within {self.timeout:g}s") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError):
                raise self._fail(f"no answer within {self.timeout:g}s") from None
            raise self._fail(f"cannot connect: {reason}") from None
        try:
            document = json.loads(body)
        except ValueError:
            raise self._fail("the answer is not JSON") from None
        out = {}
        for prop, path in self.outputs.items():
            value = _dig(document, path)
            if value is not None and not isinstance(value, dict | list):
                out[prop] = value
        return out


def _fields(template: str):
    import string

    return string.Formatter().parse(template)


def _retry_after(header: str | None, default: float) -> float:
    if header is None:
        return default
    try:
        return max(float(header.strip()), 0.0)
    except ValueError:
        return default


def enrich_on_upsert(
    properties: Mapping[str, Any],
    enrichers: Iterable[Enricher] = (),
    *,
    changed: Iterable[str] = (),
    options: Any = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Outcome:
    """What the service runs when a contact is created or updated: the offline
    enrichment, then the outside enrichers (which can read what it added, such as
    ``email_domain``). ``changed`` names the properties the update changed: what
    was derived from them is recomputed (see :func:`forget_derived`). Never raises
    for a failing service; score ``outcome.properties`` and retry
    ``outcome.pending`` at their ``retry_at``."""
    from .contact import DEFAULT_OPTIONS, enrich_contact, forget_derived

    opts = options or DEFAULT_OPTIONS
    current = forget_derived(properties, changed, opts)
    offline = enrich_contact(current, opts)
    outcome = apply_enrichers(offline, enrichers, now=now)
    outcome.added = {
        **{k: v for k, v in offline.items() if k not in current or V.is_missing(current[k])},
        **outcome.added,
    }
    return outcome

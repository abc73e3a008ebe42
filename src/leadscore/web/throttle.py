"""Sign-in back-off: too many wrong passwords for one user, or from one client
address, make further attempts wait, and a waiting attempt's password is not checked.

Two counters see every sign-in attempt: one per user (the e-mail typed, whether
or not such a user exists, so the answer never tells which users exist) and one
per client address (an IPv6 client counts as its /64 network, which one machine
usually owns whole). Once a counter reaches its ``max_failures``, each further
failure locks it for ``base * 2 ** (failures - max_failures)`` seconds, at most
``cap``. While either counter is locked, attempts are refused with the seconds left
and change nothing. A success resets the user's counter; the address's counter
only forgets the success's own attempt, so signing in as oneself does not wipe
out guesses at other users. A counter forgets its failures
``forget_after`` after its last one.

The user cap (setting ``login_account_backoff_max``) is shorter than the address
cap: one address guessing at a user is soon held to one try per address cap, and
each try keeps the user locked for at most the user cap, so the real user is never
locked out for long.

The counters live in the store (table ``web_login_throttle``), so they hold across
restarts and across processes sharing the store. An attempt is counted as a failure
*before* its password is checked (one short transaction that locks the counters'
rows) and taken back if the password was right, so concurrent attempts cannot slip
past a counter while the slow password hash runs outside any transaction.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..service.core import utcnow
from ..store import web_tables as W
from ..store.db import Store

USER, ADDRESS = "account", "address"  # the counters' kinds, as stored (and hashed in keys)
IPV6_PREFIX = 64
FORGET_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Limit:
    """Failures allowed for one key before it backs off, and how it backs off."""

    max_failures: int
    base: float  # seconds locked at the max_failures-th failure; doubles with each more
    cap: float  # longest lock-out, seconds

    def lock_for(self, failures: int) -> float:
        if self.max_failures <= 0 or failures < self.max_failures:
            return 0.0
        exponent = min(failures - self.max_failures, 64)
        return min(self.base * 2.0**exponent, self.cap)


@dataclass(frozen=True)
class LoginLimits:
    user: Limit = Limit(5, 30.0, 300.0)
    address: Limit = Limit(10, 30.0, 3600.0)
    forget_after: timedelta = FORGET_AFTER

    @classmethod
    def from_settings(cls, settings) -> LoginLimits:
        return cls(
            user=Limit(
                settings.login_max_failures,
                settings.login_backoff_base,
                settings.login_account_backoff_max,
            ),
            address=Limit(
                settings.login_address_max_failures,
                settings.login_backoff_base,
                settings.login_address_backoff_max,
            ),
        )

    def of(self, kind: str) -> Limit:
        return self.user if kind == USER else self.address


@dataclass(frozen=True)
class Refused:
    """An attempt refused unchecked: which counter is locked, and for how long still."""

    kind: str
    retry_after: int  # whole seconds, at least 1


@dataclass(frozen=True)
class _Counted:
    key: str
    failures: int  # after counting this attempt
    at: datetime
    before: tuple[int, datetime | None, datetime | None] | None  # the row before, if any


@dataclass(frozen=True)
class Ticket:
    """An attempt counted as a failure until :meth:`Throttle.settle` says otherwise."""

    counted: tuple[_Counted, ...]  # (address, user)
    locked: dict[str, float]  # kind -> seconds this attempt locks the counter for, if wrong


def address_of(host: str | None) -> str:
    """The client address a counter is kept for: IPv4 as is, IPv6 as its /64."""
    if not host:
        return "?"
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host[:100]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/{IPV6_PREFIX}", strict=False))
    return str(ip)


def key_of(kind: str, value: str) -> str:
    """The row key: a hash, so any e-mail (long, odd characters) fits the column."""
    return hashlib.sha256(f"{kind}:{value}".encode("utf-8", "replace")).hexdigest()


def user_of(email: str) -> str:
    """The sign-in name a user's counter is kept for."""
    return email.strip().lower()


class Throttle:
    """The sign-in counters of one app; ``clock`` is injectable for tests."""

    def __init__(self, store: Store, limits: LoginLimits, clock: Callable[[], datetime] = utcnow):
        self.store, self.limits, self.clock = store, limits, clock

    def reserve(self, email: str, host: str | None) -> Refused | Ticket:
        """Refuse the attempt if a counter is locked; else count it as a failure."""
        keys = (
            (ADDRESS, key_of(ADDRESS, address_of(host))),
            (USER, key_of(USER, user_of(email))),
        )
        now = self.clock()
        return self.store.transaction(lambda conn: self._reserve(conn, keys, now))

    def _reserve(self, conn: sa.Connection, keys, now: datetime) -> Refused | Ticket:
        t = W.login_throttle
        rows = {}
        for kind, key in keys:  # always address first, then user: no lock-order deadlock
            rows[kind] = conn.execute(sa.select(t).where(t.c.key == key).with_for_update()).first()
        waits = [
            (math.ceil((row.locked_until - now).total_seconds()), kind)
            for kind, row in rows.items()
            if row is not None and row.locked_until is not None and row.locked_until > now
        ]
        if waits:
            seconds, kind = max(waits)
            return Refused(kind, max(1, seconds))
        forget = now - self.limits.forget_after
        conn.execute(sa.delete(t).where(t.c.last_failure_at < forget))
        counted, locked = [], {}
        for kind, key in keys:
            row = rows[kind]
            fresh = row is not None and row.last_failure_at >= forget
            failures = (row.failures if fresh else 0) + 1
            lock = self.limits.of(kind).lock_for(failures)
            values = {
                "failures": failures,
                "last_failure_at": now,
                "locked_until": now + timedelta(seconds=lock) if lock else None,
            }
            if row is not None and fresh:
                conn.execute(sa.update(t).where(t.c.key == key).values(**values))
            else:
                conn.execute(sa.insert(t).values(key=key, kind=kind, **values))
            before = (row.failures, row.last_failure_at, row.locked_until) if fresh else None
            counted.append(_Counted(key, failures, now, before))
            if lock:
                locked[kind] = lock
        return Ticket(tuple(counted), locked)

    def settle(self, ticket: Ticket, ok: bool) -> None:
        """A right password: reset the user's counter, take back the address's count."""
        if not ok:
            return
        address, user = ticket.counted
        t = W.login_throttle
        with self.store.write() as conn:
            conn.execute(sa.delete(t).where(t.c.key == user.key))
            untouched = (
                (t.c.key == address.key)
                & (t.c.failures == address.failures)
                & (t.c.last_failure_at == address.at)
            )
            if address.before is None:
                done = conn.execute(sa.delete(t).where(untouched)).rowcount
            else:
                failures, last, until = address.before
                done = conn.execute(
                    sa.update(t)
                    .where(untouched)
                    .values(failures=failures, last_failure_at=last, locked_until=until)
                ).rowcount
            if not done:  # other attempts counted since: only take this one back
                conn.execute(
                    sa.update(t)
                    .where((t.c.key == address.key) & (t.c.failures > 0))
                    .values(failures=t.c.failures - 1)
                )


def clear_user(conn: sa.Connection, email: str) -> None:
    """Forget a user's failures (a new password set by an admin)."""
    t = W.login_throttle
    conn.execute(sa.delete(t).where(t.c.key == key_of(USER, user_of(email))))

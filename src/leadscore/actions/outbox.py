"""The outbox worker: delivers pending trigger actions, retries, dead-letters.

Rows are claimed by moving their ``next_attempt_at`` forward by a lease with a
conditional UPDATE, so two workers (two processes on PostgreSQL) never send the
same row at once; a row claimed by a process that died is tried again when its
lease runs out (three webhook timeouts plus five seconds). A failure schedules
the next try after an exponential delay with jitter: ``base * 2**(attempts-1)``,
capped, times a random factor in [0.5, 1]. After ``delivery_max_attempts`` tries
the row is ``dead`` and can be retried by hand through the API; a failure no
retry can fix (a ``crm`` action with no CRM configured) is dead at once.
"""

from __future__ import annotations

import json
import os
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..errors import CrmAuthError, CrmError, CrmRequestError
from ..store import tables as T
from . import email as email_action
from .outbound import OutboundPolicy, UrlRefused, guarded_client
from .webhook import DeliveryFailed, post

CRM_NOT_CONFIGURED = (
    "crm actions ({system}) need the integrations: write an integrations config with a "
    "'crm: {{{system}: {{...}}}}' section, name it with the 'integrations' setting "
    "(LEADSCORE_INTEGRATIONS) and put the token in the environment variable it names, then "
    "restart the service and retry this delivery (POST /v1/deliveries/ID/retry)"
)
LEASE_FACTOR, LEASE_MARGIN_S = 3.0, 5.0  # a claim outlives three receiver timeouts
CLAIM_BATCH = 50


def backoff_delay(
    attempts: int, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Seconds to wait before try ``attempts + 1`` (``attempts`` ≥ 1 tries so far)."""
    r = rng or random
    return min(cap, base * 2 ** (attempts - 1)) * r.uniform(0.5, 1.0)


class PermanentFailure(DeliveryFailed):
    """A delivery that no retry can fix (a missing configuration): dead at once."""

    def __init__(self, message: str, *, reason: str = "config"):
        super().__init__(message, reason=reason, permanent=True)


class OutboxWorker:
    """Delivers the outbox. ``crm_delivery(system, payload)`` writes ``crm`` actions (the
    integrations set it; it raises :class:`~leadscore.errors.CrmError` to retry)."""

    def __init__(
        self,
        store: Any,
        settings: Any,
        *,
        rng: random.Random | None = None,
        crm_delivery: Callable[[str, dict[str, Any]], None] | None = None,
    ):
        self.store = store
        self.crm_delivery = crm_delivery
        self.settings = settings
        self.rng = rng or random.Random()
        self.policy = OutboundPolicy.parse(getattr(settings, "outbound_allow", ""))
        self.client = guarded_client(self.policy, settings.webhook_timeout)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ one pass
    def claim(self, now: datetime) -> list[Any]:
        d = T.deliveries.c
        with self.store.read() as conn:
            due = conn.execute(
                sa.select(T.deliveries)
                .where(d.status == "pending", d.next_attempt_at <= now)
                .order_by(d.next_attempt_at, d.id)
                .limit(CLAIM_BATCH)
            ).all()
        claimed = []
        lease = now + timedelta(
            seconds=LEASE_FACTOR * self.settings.webhook_timeout + LEASE_MARGIN_S
        )
        for row in due:
            with self.store.write() as conn:
                got = conn.execute(
                    sa.update(T.deliveries)
                    .where(
                        d.id == row.id,
                        d.status == "pending",
                        d.next_attempt_at == row.next_attempt_at,
                    )
                    .values(next_attempt_at=lease)
                ).rowcount
            if got == 1:
                claimed.append(row)
        return claimed

    def run_once(self, now: datetime | None = None) -> int:
        """Deliver every due row once; returns how many were tried."""
        now = now or datetime.now(UTC)
        rows = self.claim(now)
        for row in rows:
            self.deliver(row)
        return len(rows)

    def deliver(self, row: Any) -> None:
        d = T.deliveries.c
        attempts = row.attempts + 1
        with self.store.read() as conn:  # dropped since it was claimed (its model unpublished)
            status = conn.execute(sa.select(d.status).where(d.id == row.id)).scalar()
        if status != "pending":
            return
        try:
            self._send(row)
        except DeliveryFailed as exc:
            done = datetime.now(UTC)
            dead = attempts >= self.settings.delivery_max_attempts or exc.permanent
            delay = backoff_delay(
                attempts,
                self.settings.delivery_backoff_base,
                self.settings.delivery_backoff_max,
                self.rng,
            )
            with self.store.write() as conn:
                conn.execute(
                    sa.update(T.deliveries)
                    .where(d.id == row.id)
                    .values(
                        attempts=attempts,
                        status="dead" if dead else "pending",
                        last_error=str(exc)[:2000],
                        next_attempt_at=done if dead else done + timedelta(seconds=delay),
                    )
                )
            return
        with self.store.write() as conn:
            conn.execute(
                sa.update(T.deliveries)
                .where(d.id == row.id)
                .values(
                    attempts=attempts,
                    status="delivered",
                    last_error=None,
                    delivered_at=datetime.now(UTC),
                )
            )

    def _send(self, row: Any) -> None:
        if row.kind == "webhook":
            secret = self.settings.webhook_secret
            if row.secret_env:
                secret = os.environ.get(row.secret_env, secret)
            try:  # a target stored before the policy, or no longer allowed
                url = self.policy.check_url(row.target)
            except UrlRefused as exc:
                raise PermanentFailure(
                    f"{exc.message}; no connection was attempted ({exc.hint})", reason="blocked"
                ) from None
            body = json.dumps(row.payload, sort_keys=True, separators=(",", ":")).encode()
            post(self.client, url, body, secret=secret, delivery=row.key)
        elif row.kind == "email":
            email_action.send(self.settings, row.target.split(","), row.payload)
        elif row.kind == "crm":
            self._send_crm(row)
        else:
            raise PermanentFailure(f"no connector for {row.kind} actions ({row.target})")

    def _send_crm(self, row: Any) -> None:
        if self.crm_delivery is None:
            raise PermanentFailure(CRM_NOT_CONFIGURED.format(system=row.target))
        try:
            self.crm_delivery(row.target, row.payload)
        except CrmAuthError:
            raise DeliveryFailed(
                f"{row.target} refused the token (401/403); check the token and its scopes",
                reason="auth",
            ) from None
        except CrmRequestError as exc:
            raise DeliveryFailed(
                f"{row.target} refused the request (HTTP {exc.status})",
                reason="http_4xx",
                status=exc.status,
            ) from None
        except CrmError as exc:  # our own messages (retries ran out, configuration)
            raise DeliveryFailed(str(exc), reason="crm") from None

    # ------------------------------------------------------------------ background
    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self.settings.outbox_poll_interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="leadscore-outbox", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                tried = self.run_once()
            except Exception:  # keep the worker alive; the row stays pending
                import logging

                logging.getLogger("leadscore.outbox").exception("outbox pass failed")
                tried = 0
            if tried == 0:
                self._wake.wait(self.settings.outbox_poll_interval)
                self._wake.clear()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.client.close()

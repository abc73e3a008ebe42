"""Forward score changes to CRMs as they happen (after events arrive through the router).

:class:`CrmForwarder` is a listener: give it the sink's ingest results (which
carry each contact's new scores) and it writes changed scores to every
configured CRM, through :class:`~.base.CrmSync` (so unchanged scores are not
sent again). With ``background=True`` the writes happen on a worker thread
and the webhook or tracking request does not wait for the CRM.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ..events import LeadEvent
from ..http import CrmError
from .base import CrmSync, ScoreUpdate

log = logging.getLogger("leadscore.integrations.crm")


def updates_from_results(
    events: Sequence[LeadEvent], results: Sequence[dict[str, Any]], model: str | None = None
) -> list[ScoreUpdate]:
    """One update per contact whose new scores are in ``results`` (one model's score)."""
    now = datetime.now(UTC)
    out: dict[str, ScoreUpdate] = {}
    for ev, r in zip(events, results, strict=False):
        scores = r.get("scores") or {}
        if not scores:
            continue
        name = model if model in scores else sorted(scores)[0]
        s = scores[name]
        cid = str(r.get("contact_id") or ev.contact_key)
        out[cid] = ScoreUpdate(
            contact_id=cid,
            email=ev.email,
            total=float(s.get("total") or 0),
            grade=s.get("grade"),
            stage=s.get("stage"),
            reasons=tuple((r.get("reasons") or {}).get(name, ())),
            model=name,
            at=now,
        )
    return list(out.values())


class CrmForwarder:
    def __init__(self, syncs: Sequence[CrmSync], *, model: str | None = None, background=False):
        self.syncs, self.model = list(syncs), model
        self._queue: queue.Queue[list[ScoreUpdate] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._loop, name="leadscore-crm", daemon=True)
            self._thread.start()

    def __call__(self, events: Sequence[LeadEvent], results: Sequence[dict[str, Any]]) -> None:
        updates = updates_from_results(events, results, self.model)
        if not updates:
            return
        if self._thread is None:
            self._push(updates)
        else:
            self._queue.put(updates)

    def _push(self, updates: list[ScoreUpdate]) -> None:
        for sync in self.syncs:
            try:
                sync.push(updates)
            except CrmError as exc:  # logged in the sync log too; the next change retries
                log.error("CRM sync to %s failed: %s", sync.connector.system, exc)

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._push(item)
            finally:
                self._queue.task_done()

    def flush(self) -> None:
        """Wait until every queued update has been sent (or failed)."""
        if self._thread is not None:
            self._queue.join()

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None


def update_from_trigger_payload(payload: dict[str, Any]) -> ScoreUpdate:
    """The trigger outbox's ``trigger.fired`` payload as a CRM update."""
    contact = payload.get("contact") or {}
    score = payload.get("score") or {}
    at = payload.get("at")
    return ScoreUpdate(
        contact_id=str(contact["id"]),
        email=contact.get("email"),
        total=float(score.get("total") or 0),
        grade=score.get("grade"),
        stage=score.get("stage"),
        reasons=tuple(payload.get("reasons") or ()),
        model=(payload.get("model") or {}).get("name"),
        at=datetime.fromisoformat(at) if isinstance(at, str) else datetime.now(UTC),
    )


class CrmTriggerDelivery:
    """Delivers ``crm: {system: ...}`` trigger actions: one ``(system, payload)`` call each.

    Raises :class:`~..http.CrmError` when the write failed, so the outbox
    retries it with its own back-off; succeeds quietly when the CRM already
    shows these values.
    """

    def __init__(self, syncs: dict[str, CrmSync]):
        self.syncs = syncs

    def __call__(self, system: str, payload: dict[str, Any]) -> None:
        sync = self.syncs.get(system)
        if sync is None:
            raise CrmError(
                f"no {system} connector configured; add crm.{system} to the integrations config"
            )
        report = sync.push([update_from_trigger_payload(payload)])
        if report.failed or report.pending:
            raise CrmError(f"{system}: " + ("; ".join(report.errors) or "not written"))

"""The sink backed by the scoring service: events and contacts go to ``Service``.

Imported only where the service is used (it pulls in the store); the router
itself needs just the two-method :class:`~.events.LeadSink`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError

from ..reasons import reasons_from_breakdown
from ..service.published import live_names
from ..service.schemas import ContactIn, EventIn
from ..store import tables as T
from .events import ContactRecord, LeadEvent
from .inbound.base import HookRejected


def _valid(schema: type[Any], where: str, **values: Any) -> Any:
    """The API's own schema for an event or contact from outside; what it refuses is
    refused as the API would (422, naming the field), not as a server error."""
    try:
        return schema(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ()))
        raise HookRejected(
            422,
            f"{where}{'.' + field if field else ''}: {first.get('msg', 'invalid')}",
            kind="unstorable",
        ) from None


class ServiceSink:
    """Ingest through :meth:`Service.ingest` (idempotency key = the platform's event id)."""

    def __init__(self, service: Any, *, actor: str = "integrations", reasons: int = 3):
        self.service, self.actor, self.reasons = service, actor, reasons

    def ingest(self, events: Sequence[LeadEvent]) -> list[dict[str, Any]]:
        size = max(1, int(self.service.settings.max_batch))
        results: list[dict[str, Any]] = []
        # Every event is checked before the first is stored: a refused one stores nothing.
        items = [
            _valid(
                EventIn,
                f"events[{i}]",
                contact_id=e.contact_id,
                email=None if e.contact_id else e.email,
                type=e.type,
                ts=e.ts,
                attributes=dict(e.attributes),
                idempotency_key=e.event_id[:200],
            )
            for i, e in enumerate(events)
        ]
        for start in range(0, len(items), size):
            results.extend(self.service.ingest(items[start : start + size], self.actor))
        if self.reasons:
            self._add_reasons(results)
        return results

    def _add_reasons(self, results: list[dict[str, Any]]) -> None:
        ids = sorted({r["contact_id"] for r in results if r.get("scores")})
        if not ids:
            return
        s = T.scores.c
        with self.service.store.read() as conn:
            rows = conn.execute(
                sa.select(s.contact_id, s.model_name, s.breakdown).where(
                    s.contact_id.in_(ids), s.model_name.in_(live_names())
                )
            ).all()
        by = {}
        for row in rows:
            by.setdefault(row.contact_id, {})[row.model_name] = reasons_from_breakdown(
                row.breakdown or [], self.reasons
            )
        for r in results:
            if r.get("scores"):
                r["reasons"] = by.get(r["contact_id"], {})

    def upsert_contacts(self, contacts: Sequence[ContactRecord]) -> list[str]:
        items = []
        for c in contacts:
            cid = c.contact_id
            if cid is None and not c.email:
                cid = f"{c.source or 'ext'}-{c.external_id}"
            items.append(
                _valid(
                    ContactIn,
                    f"contacts[{len(items)}]",
                    id=cid,
                    email=c.email,
                    properties=dict(c.properties),
                )
            )
        size = max(1, int(self.service.settings.max_batch))
        out: list[str] = []
        for start in range(0, len(items), size):
            out += [
                r["id"]
                for r in self.service.upsert_contacts(items[start : start + size], self.actor)
            ]
        return out

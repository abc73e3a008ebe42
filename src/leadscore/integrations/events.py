"""The plain objects integrations hand to leadscore, and the sink they hand them to."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class LeadEvent:
    """One event for a contact known by id or by e-mail.

    ``event_id`` is the source platform's own id (SendGrid ``sg_event_id``,
    Mailgun ``id``, HubSpot event id, tracking hit id) prefixed with the
    source, so a redelivered webhook is stored once.
    """

    type: str
    ts: datetime
    event_id: str
    email: str | None = None
    contact_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (self.email or self.contact_id):
            raise ValueError("a LeadEvent needs an email or a contact_id")
        if self.ts.tzinfo is None:
            object.__setattr__(self, "ts", self.ts.replace(tzinfo=UTC))

    @property
    def contact_key(self) -> str:
        return self.contact_id or f"email:{self.email}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "contact_id": self.contact_id,
            "email": self.email,
            "type": self.type,
            "ts": self.ts.isoformat(),
            "attributes": dict(self.attributes),
            "event_id": self.event_id,
        }


@dataclass(frozen=True)
class ContactRecord:
    """A contact as a CRM knows it: its CRM id, e-mail and properties."""

    email: str | None
    properties: dict[str, Any]
    external_id: str | None = None
    source: str | None = None
    contact_id: str | None = None


class LeadSink(Protocol):
    """What integrations need from leadscore: store events, create or update contacts.

    ``ingest`` returns one dict per event with at least ``status``
    (``accepted`` or ``duplicate``) and ``contact_id``; it may add the
    contact's new ``scores`` (``{model: {total, grade, stage, excluded}}``).
    """

    def ingest(self, events: Sequence[LeadEvent]) -> list[dict[str, Any]]: ...

    def upsert_contacts(self, contacts: Sequence[ContactRecord]) -> list[str]: ...


class InMemorySink:
    """A sink that keeps everything in lists; for tests, demos and dry runs."""

    def __init__(self) -> None:
        self.events: list[LeadEvent] = []
        self.contacts: dict[str, ContactRecord] = {}
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def ingest(self, events: Sequence[LeadEvent]) -> list[dict[str, Any]]:
        out = []
        with self._lock:
            for ev in events:
                if ev.event_id in self._seen:
                    out.append({"status": "duplicate", "contact_id": ev.contact_key})
                    continue
                self._seen.add(ev.event_id)
                self.events.append(ev)
                out.append({"status": "accepted", "contact_id": ev.contact_key})
        return out

    def upsert_contacts(self, contacts: Sequence[ContactRecord]) -> list[str]:
        ids = []
        with self._lock:
            for c in contacts:
                key = c.contact_id or (f"email:{c.email}" if c.email else f"ext:{c.external_id}")
                old = self.contacts.get(key)
                props = {**(old.properties if old else {}), **c.properties}
                self.contacts[key] = ContactRecord(
                    c.email, props, c.external_id, c.source, c.contact_id
                )
                ids.append(key)
        return ids

"""The names the store holds: contact properties, event types and event attributes,
for the model checks' "did you mean" (:mod:`leadscore.data.checks`).

Read from a sample (the first contacts in id order, the latest events) so checking a
model stays fast on a large store, and kept for a short while: the editor checks the
model as it is typed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from ..data.checks import Vocabulary, vocabulary
from ..store import tables as T

CONTACT_SAMPLE = 20_000
"""Contacts read for their property names."""
EVENT_SAMPLE = 50_000
"""Latest events read for their types and attribute names."""
TTL_SECONDS = 30.0
"""How long the names read are reused before the store is read again."""
ENRICH_HINT = (
    "the service adds it when the setting enrich_offline is on: turn it on, or send "
    "the property with the contacts"
)


class StoreVocabulary:
    """The store's names, read at most once per ``ttl`` seconds."""

    def __init__(
        self,
        store: Any,
        settings: Any,
        *,
        ttl: float = TTL_SECONDS,
        contacts: int = CONTACT_SAMPLE,
        events: int = EVENT_SAMPLE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store, self.settings, self.ttl, self.clock = store, settings, ttl, clock
        self.contacts, self.events = contacts, events
        self._cached: tuple[float, Vocabulary] | None = None

    def get(self) -> Vocabulary:
        now = self.clock()
        if self._cached is not None and now - self._cached[0] < self.ttl:
            return self._cached[1]
        found = self.read()
        self._cached = (now, found)
        return found

    def read(self) -> Vocabulary:
        props: set[str] = set()
        types: set[str] = set()
        attrs: set[str] = set()
        with self.store.read() as conn:
            rows = conn.execute(
                sa.select(T.contacts.c.properties).order_by(T.contacts.c.id).limit(self.contacts)
            ).scalars()
            n_contacts = 0
            for p in rows:
                n_contacts += 1
                props.update(p or {})
            n_events = 0
            for etype, a in conn.execute(
                sa.select(T.events.c.type, T.events.c.attributes)
                .order_by(T.events.c.seq.desc())
                .limit(self.events)
            ):
                n_events += 1
                types.add(etype)
                attrs.update(a or {})
        return vocabulary(
            props,
            types,
            attrs if types else None,
            where=(
                "the stored contacts"
                if n_contacts < self.contacts
                else f"the first {self.contacts} stored contacts"
            ),
            events_where=(
                "the stored events"
                if n_events < self.events
                else f"the latest {self.events} stored events"
            ),
            enrich_hint=None if self.settings.enrich_offline else ENRICH_HINT,
        )

"""GDPR erase: nothing that names an erased contact stays in the store.

:meth:`Service.delete_contact` removes the rows keyed by the contact (events,
scores, history, adjustments, trigger state, pending enrichments, its account
roll-up entries, its own deliveries). What is left are *mentions* elsewhere: an account delivery's
``top_contacts``, an account breakdown's contributions under a model no
longer rescored, an adjustment reason quoted in another row's history detail,
an audit entry. :func:`scrub_store` finds them in every JSON column and every
free-text column of the store's metadata and rewrites them:

* a list item that is an object whose ``id`` or ``contact_id`` is the contact
  (a top contact, a contribution) is dropped;
* a text equal to the contact id becomes ``erased``;
* the e-mail address inside any text (whatever its case) becomes ``erased``.

The id is matched as a whole value only (an id such as ``42`` may well be some
other value's text); the e-mail, which says who the person is, wherever it
appears. Model YAML is not rewritten (a published version stays what it was).
Parts outside the store (the tracking visitor store, the CRM sync log and
state, enrichment caches) forget the contact through ``Service.on_erase``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ..store import tables as T

ERASED = "erased"
ID_KEYS = ("id", "contact_id")

# Free-text columns that may quote a person (JSON columns are all searched). Columns
# that hold identifiers of other things (model names, keys, hashes) are left alone.
FREE_TEXT = {
    "adjustments": ("reason",),
    "audit_log": ("target",),
    "deliveries": ("last_error",),
    "enrich_pending": ("reason",),
}


@dataclass(frozen=True)
class Erased:
    """What the parts outside the store need to forget an erased contact."""

    contact_id: str
    email: str | None
    properties: dict[str, Any] = field(default_factory=dict)
    visitors: tuple[str, ...] = ()  # tracking visitor ids seen on its events


class _Scrub:
    def __init__(self, contact_id: str, email: str | None):
        self.contact_id = contact_id
        self.email = re.compile(re.escape(email), re.IGNORECASE) if email else None

    def text(self, value: str) -> str:
        if value == self.contact_id:
            return ERASED
        return self.email.sub(ERASED, value) if self.email is not None else value

    def names(self, item: Any) -> bool:
        return isinstance(item, dict) and any(item.get(k) == self.contact_id for k in ID_KEYS)

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(v) for v in value if not self.names(v)]
        if isinstance(value, dict):
            return {self.text(k): self.value(v) for k, v in value.items()}
        return value


def _needles(contact_id: str, email: str | None) -> list[str]:
    """What a row must contain (lower case) to be worth reading: the id and the e-mail,
    as written and as JSON escapes them."""
    out = {contact_id.lower(), json.dumps(contact_id)[1:-1].lower()}
    if email:
        out |= {email.lower(), json.dumps(email)[1:-1].lower()}
    return sorted(out)


def columns() -> Iterator[tuple[sa.Table, sa.Column]]:
    """Every store column an erase searches: JSON ones and the free-text ones."""
    for table in T.metadata.sorted_tables:
        text = FREE_TEXT.get(table.name, ())
        for col in table.columns:
            if isinstance(col.type, sa.JSON) or col.name in text:
                yield table, col


def scrub_store(conn: sa.Connection, contact_id: str, email: str | None) -> dict[str, int]:
    """Rewrite every mention of the contact left in the store; rows rewritten by table."""
    scrub = _Scrub(contact_id, email)
    needles = _needles(contact_id, email)
    counts: dict[str, int] = {}
    for table, col in columns():
        key = list(table.primary_key.columns)
        text = sa.func.lower(sa.cast(col, sa.Text))
        query = sa.select(*key, col).where(
            sa.or_(*(text.contains(n, autoescape=True) for n in needles))
        )
        for row in conn.execute(query).all():
            old = row[-1]
            new = scrub.value(old)
            if new == old:
                continue
            conn.execute(
                sa.update(table)
                .where(*(k == row[i] for i, k in enumerate(key)))
                .values({col.name: new})
            )
            counts[table.name] = counts.get(table.name, 0) + 1
    return counts


def visitors_of(conn: sa.Connection, contact_id: str) -> tuple[str, ...]:
    """The tracking visitor ids on a contact's events (the browsers linked to it)."""
    found = set()
    rows = conn.execute(
        sa.select(T.events.c.attributes).where(T.events.c.contact_id == contact_id)
    ).scalars()
    for attrs in rows:
        visitor = (attrs or {}).get("visitor_id")
        if isinstance(visitor, str):
            found.add(visitor)
    return tuple(sorted(found))

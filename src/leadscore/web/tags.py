"""Trigger tags: the contacts a tagged trigger fired for, until it re-arms.

A trigger with a ``tag`` (or a ``colour``) marks the contacts it is disarmed for
after firing (``trigger_state``: armed false, at least one crossing): the leads
list shows the tag beside the contact and colours the row, the contact page
shows it beside the model's score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from ..service.published import Published
from ..store import tables as T

DEFAULT_TAG_COLOUR = "#475569"
"""A tag's colour when its trigger names none."""


@dataclass(frozen=True)
class Tag:
    model: str
    trigger: str
    label: str
    colour: str


def tags(
    conn: sa.Connection, pubs: Sequence[Published], ids: Sequence[str]
) -> dict[str, list[Tag]]:
    """The tags each contact carries under these models, in the models' trigger order."""
    tagged = {
        (p.name, t.name): Tag(p.name, t.name, t.label, t.colour or DEFAULT_TAG_COLOUR)
        for p in pubs
        for t in p.model.triggers
        if t.label is not None
    }
    if not tagged or not ids:
        return {}
    order = {key: i for i, key in enumerate(tagged)}
    ts = T.trigger_state.c
    rows = conn.execute(
        sa.select(ts.contact_id, ts.model_name, ts.trigger).where(
            ts.contact_id.in_(sorted(set(ids))),
            ts.model_name.in_(sorted({p.name for p in pubs})),
            ts.armed.is_(False),
            ts.crossings > 0,
        )
    ).all()
    out: dict[str, list[Tag]] = {}
    for r in sorted(rows, key=lambda r: (r.contact_id, order.get((r.model_name, r.trigger), -1))):
        tag = tagged.get((r.model_name, r.trigger))
        if tag is not None:
            out.setdefault(r.contact_id, []).append(tag)
    return out

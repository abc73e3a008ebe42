"""Who an anonymous visitor is, as pure functions (no storage, no HTTP).

The rules, those of HubSpot's and Mautic's tracking:

1. A visitor (one browser, one cookie) is anonymous until a form gives an
   e-mail. Its hits wait, unattached.
2. On the first e-mail, the visitor is linked to that contact and **all its
   waiting hits become the contact's events**, with their original times, in
   time order. Each keeps its hit id as idempotency key (``t:<hit id>``), so
   a retried merge stores nothing twice.
3. Later hits of a linked visitor go straight to the contact.
4. Several visitors (devices) may link to one contact.
5. A linked visitor that gives *another* e-mail (a shared computer) is
   re-linked to the new contact from then on; the history already merged
   stays with the first contact (it was that person's).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..events import LeadEvent


@dataclass(frozen=True)
class Hit:
    """One tracking hit (a page view, a form submission) of a visitor."""

    visitor_id: str
    hit_id: str
    type: str
    ts: datetime
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MergePlan:
    link_to: str | None  # e-mail the visitor is linked to from now on; None: unchanged
    events: tuple[LeadEvent, ...]  # waiting history, now the contact's events
    outcome: str  # "linked", "already-linked" or "relinked"


def normalize_email(email: str) -> str:
    return email.strip().lower()


def hit_event(hit: Hit, email: str) -> LeadEvent:
    return LeadEvent(
        type=hit.type,
        ts=hit.ts,
        event_id=f"t:{hit.hit_id}",
        email=normalize_email(email),
        attributes={**hit.attributes, "visitor_id": hit.visitor_id},
    )


def hits_to_events(hits: Sequence[Hit], email: str) -> list[LeadEvent]:
    """A visitor's hits as the contact's events: each hit once, in time order."""
    unique: dict[str, Hit] = {}
    for h in hits:
        unique.setdefault(h.hit_id, h)
    ordered = sorted(unique.values(), key=lambda h: (h.ts, h.hit_id))
    return [hit_event(h, email) for h in ordered]


def plan_identify(current: str | None, email: str, waiting: Sequence[Hit]) -> MergePlan:
    """What identifying visitor ``current``-linked-or-not as ``email`` does."""
    email = normalize_email(email)
    if current is None:
        return MergePlan(email, tuple(hits_to_events(waiting, email)), "linked")
    if normalize_email(current) == email:
        return MergePlan(None, tuple(hits_to_events(waiting, email)), "already-linked")
    # Waiting hits of a linked visitor can only exist if they raced the link; they
    # happened before this identification, so they belong to the previous contact.
    return MergePlan(email, tuple(hits_to_events(waiting, current)), "relinked")

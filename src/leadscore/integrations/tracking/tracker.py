"""The collect endpoint's logic: validate a hit, keep it waiting or give it to the contact.

A hit is the JSON the script sends (as ``text/plain``, so browsers send it
cross-origin without a preflight)::

    {"t": "page_view" | "form_submit", "v": visitor id, "id": hit id,
     "u": page URL, "r": referrer, "ti": title, "f": form id, "e": e-mail,
     "consent": true}

The server time stamps hits (a browser's clock is not trusted). Requests that
carry ``DNT: 1`` or ``Sec-GPC: 1`` are dropped unread, and so are hits without
consent when the configuration requires it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..config import TrackingConfig
from ..events import LeadEvent, LeadSink
from ..inbound.base import HookRejected
from .identity import Hit, hit_event, hits_to_events, plan_identify
from .store import VisitorStore

ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TYPES = {"page_view", "form_submit"}
MAX_TEXT = 2000
MAX_EMAIL = 320  # the longest e-mail the API stores (local part 64 + @ + domain 255)


def script() -> str:
    """The ``t.js`` source."""
    return (Path(__file__).parent / "t.js").read_text(encoding="utf-8")


def _text(hit: Mapping[str, Any], key: str) -> str | None:
    value = hit.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise HookRejected(400, f"tracking: {key!r} must be text", kind="malformed")
    if "\x00" in value:
        raise HookRejected(
            400, f"tracking: {key!r} must not contain the NUL character", kind="malformed"
        )
    return value[:MAX_TEXT]


class Tracker:
    def __init__(
        self,
        config: TrackingConfig,
        store: VisitorStore,
        sink: LeadSink,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.config, self.store, self.sink, self.now = config, store, sink, now

    def opted_out(self, headers: Mapping[str, str]) -> bool:
        return headers.get("dnt") == "1" or headers.get("sec-gpc") == "1"

    def collect(self, hit: Any, headers: Mapping[str, str]) -> dict[str, Any]:
        """Handle one hit; returns what happened (``status`` and counts)."""
        if not self.config.enabled:
            raise HookRejected(404, "tracking is disabled in the integrations config")
        if self.opted_out(headers):
            return {"status": "ignored", "reason": "do-not-track"}
        if not isinstance(hit, dict):
            raise HookRejected(400, "tracking: a hit is a JSON object", kind="malformed")
        if self.config.consent_required and hit.get("consent") is not True:
            return {"status": "ignored", "reason": "no-consent"}
        kind, visitor, hit_id = hit.get("t"), hit.get("v"), hit.get("id")
        if not isinstance(kind, str) or kind not in TYPES:
            raise HookRejected(
                400, f"tracking: 't' must be one of {sorted(TYPES)}, not {kind!r}", kind="malformed"
            )
        for key, value in (("v", visitor), ("id", hit_id)):
            if not isinstance(value, str) or not ID.match(value):
                raise HookRejected(
                    400, f"tracking: {key!r} must be 8-64 letters, digits, - or _", kind="malformed"
                )
        attrs = {
            k: v
            for k, v in (
                ("url", _text(hit, "u")),
                ("referrer", _text(hit, "r")),
                ("title", _text(hit, "ti")),
                ("form_id", _text(hit, "f")),
            )
            if v is not None
        }
        email = _text(hit, "e")
        if email is not None and (len(email.strip()) > MAX_EMAIL or not EMAIL.match(email.strip())):
            email = None  # a typo in a form is not an identity, nor is a 400-character "address"
        h = Hit(visitor, hit_id, kind, self.now(), attrs)
        linked = self.store.contact_of(visitor)
        if kind == "form_submit" and email:
            return self._identify(h, linked, email)
        if linked is not None:
            results = self.sink.ingest([hit_event(h, linked)])
            return {"status": "recorded", "contact": linked, "results": results}
        self.store.add_waiting(h, self.config.max_pending_hits)
        return {"status": "waiting"}

    def _identify(self, h: Hit, linked: str | None, email: str) -> dict[str, Any]:
        waiting = self.store.waiting(h.visitor_id)
        plan = plan_identify(linked, email, waiting)
        contact = plan.link_to or linked or email
        events: list[LeadEvent] = [*plan.events, hit_event(h, contact)]
        results = self.sink.ingest(events)
        # Only once the sink has the history do we forget the waiting hits.
        self.store.link(h.visitor_id, contact, [w.hit_id for w in waiting])
        merged = len(plan.events)
        for _ in range(3):  # hits that raced the link (another tab) follow the contact
            late = self.store.waiting(h.visitor_id)
            if not late:
                break
            results += self.sink.ingest(hits_to_events(late, contact))
            self.store.link(h.visitor_id, contact, [w.hit_id for w in late])
            merged += len(late)
        return {
            "status": "identified",
            "outcome": plan.outcome,
            "contact": contact,
            "merged": merged,
            "results": results,
        }

"""The shared shape of inbound parsing: the result, the rejection, the helpers every
parser uses (the dispatcher is :func:`.dispatch.parse_hook`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...values import MAX_DEPTH, BadValue, check_json, check_text
from ..events import ContactRecord, LeadEvent


class HookRejected(Exception):
    """The payload is refused: ``status`` is the HTTP answer, ``detail`` says why and the fix."""

    def __init__(self, status: int, detail: str, *, kind: str = "hook-rejected"):
        self.status, self.detail, self.kind = status, detail, kind
        super().__init__(detail)


@dataclass
class HookResult:
    events: list[LeadEvent] = field(default_factory=list)
    contacts: list[ContactRecord] = field(default_factory=list)
    ignored: int = 0  # platform events with no leadscore meaning (deferred, delivered...)


def parse_json(body: bytes, what: str) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise HookRejected(
            400, f"{what}: the body is not valid JSON ({exc})", kind="malformed"
        ) from None
    except RecursionError:
        raise HookRejected(
            400,
            f"{what}: the JSON body is nested too deeply to read; send at most "
            f"{MAX_DEPTH} levels of objects and arrays",
            kind="malformed",
        ) from None


def check_storable(result: HookResult, what: str) -> None:
    """Refuse the whole delivery when any value in it cannot be stored (NUL in text,
    NaN or infinite numbers, too deep), before anything is stored."""
    try:
        for i, ev in enumerate(result.events):
            for name in ("type", "event_id", "email", "contact_id"):
                value = getattr(ev, name)
                if value is not None:
                    check_text(value, f"events[{i}].{name}")
            check_json(ev.attributes, f"events[{i}].attributes")
        for i, c in enumerate(result.contacts):
            for name in ("email", "external_id", "contact_id"):
                value = getattr(c, name)
                if value is not None:
                    check_text(str(value), f"contacts[{i}].{name}")
            check_json(c.properties, f"contacts[{i}].properties")
    except BadValue as exc:
        raise HookRejected(422, f"{what}: {exc}", kind="unstorable") from None


def stable_id(*parts: Any) -> str:
    raw = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def media_type(headers: Mapping[str, str]) -> str:
    return (headers.get("content-type") or "").split(";")[0].strip().lower()

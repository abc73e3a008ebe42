"""Mailgun webhooks (JSON): ``{"signature": {...}, "event-data": {...}}``, HMAC-signed.

The signature is the hex HMAC-SHA256 of ``timestamp + token`` with the
account's HTTP webhook signing key (environment variable ``signing_key_env``).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ..config import MailgunHook
from ..events import LeadEvent
from .base import HookRejected, HookResult, media_type, parse_json, stable_id

TYPES = {
    "accepted": "email_sent",
    "delivered": "email_delivered",
    "opened": "email_open",
    "clicked": "email_click",
    "unsubscribed": "unsubscribe",
    "complained": "spam_report",
}


def sign(key: str, timestamp: str, token: str) -> str:
    return hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()


def _check_signature(hook: MailgunHook, data: dict[str, Any], now: datetime) -> None:
    key = os.environ.get(hook.signing_key_env or "") if hook.signing_key_env else None
    if not hook.require_signature and not key:
        return
    if not key:
        raise HookRejected(
            503,
            "mailgun: signatures are required but no signing key is configured; set the "
            f"environment variable {hook.signing_key_env or '(signing_key_env)'}",
            kind="hook-misconfigured",
        )
    sig = data.get("signature")
    if not isinstance(sig, dict) or not all(
        sig.get(k) for k in ("timestamp", "token", "signature")
    ):
        raise HookRejected(
            401,
            "mailgun: unsigned request (no signature.timestamp/token/signature)",
            kind="unsigned",
        )
    try:
        ts = float(sig["timestamp"])
    except (TypeError, ValueError):
        raise HookRejected(401, "mailgun: the signature timestamp is not a number") from None
    if abs(now.timestamp() - ts) > hook.tolerance_s:
        raise HookRejected(401, "mailgun: the signature timestamp is too old (replay?)")
    expected = sign(key, str(sig["timestamp"]), str(sig["token"]))
    if not hmac.compare_digest(expected, str(sig["signature"])):
        raise HookRejected(401, "mailgun: the signature does not match the signing key")


def parse(hook: MailgunHook, body: bytes, headers: Mapping[str, str], *, now: datetime):
    if media_type(headers) not in ("application/json", ""):
        raise HookRejected(
            415,
            "mailgun: send the JSON webhooks (Mailgun's current webhooks post application/json)",
        )
    data = parse_json(body, "mailgun")
    if not isinstance(data, dict):
        raise HookRejected(400, "mailgun: the body must be a JSON object", kind="malformed")
    _check_signature(hook, data, now)
    e = data.get("event-data")
    if not isinstance(e, dict):
        raise HookRejected(400, "mailgun: no 'event-data' object", kind="malformed")
    missing = [k for k in ("event", "timestamp", "recipient") if not e.get(k)]
    if missing:
        raise HookRejected(
            400, f"mailgun: event-data has no {', '.join(missing)}", kind="malformed"
        )
    result = HookResult()
    kind = str(e["event"])
    ours = TYPES.get(kind)
    if kind == "failed":
        ours = "email_bounce" if e.get("severity") == "permanent" else None
    if ours is None:
        result.ignored = 1
        return result
    try:
        ts = datetime.fromtimestamp(float(e["timestamp"]), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        raise HookRejected(
            400, "mailgun: event-data.timestamp is not Unix seconds", kind="malformed"
        ) from None
    attrs: dict[str, Any] = {}
    if e.get("url"):
        attrs["url"] = e["url"]
    message_id = ((e.get("message") or {}).get("headers") or {}).get("message-id")
    if message_id:
        attrs["email_id"] = message_id
    if e.get("tags"):
        attrs["campaign"] = ",".join(str(t) for t in e["tags"])
    for k in ("reason", "severity", "ip"):
        if e.get(k):
            attrs[k] = e[k]
    status = e.get("delivery-status") or {}
    if isinstance(status, dict) and status.get("code"):
        attrs["status"] = status["code"]
    eid = e.get("id") or stable_id("mailgun", e)
    result.events.append(
        LeadEvent(
            type=ours,
            ts=ts,
            event_id=f"mailgun:{eid}",
            email=str(e["recipient"]).strip().lower(),
            attributes=attrs,
        )
    )
    return result

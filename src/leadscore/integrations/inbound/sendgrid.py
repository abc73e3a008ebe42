"""SendGrid Event Webhook: a JSON array of events, signed with ECDSA P-256.

Signature (the "Signed Event Webhook"): header
``X-Twilio-Email-Event-Webhook-Signature`` holds the base64 DER ECDSA
signature, ``X-Twilio-Email-Event-Webhook-Timestamp`` the time; the signed
bytes are ``timestamp + raw body``; the verification key is the base64
(DER SubjectPublicKeyInfo) key shown in SendGrid's mail settings, read from
the environment variable named by ``verification_key_env``.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ..config import SendGridHook
from ..events import LeadEvent
from .base import HookRejected, HookResult, media_type, parse_json, stable_id

SIGNATURE_HEADER = "x-twilio-email-event-webhook-signature"
TIMESTAMP_HEADER = "x-twilio-email-event-webhook-timestamp"

TYPES = {
    "processed": "email_sent",
    "delivered": "email_delivered",
    "open": "email_open",
    "click": "email_click",
    "bounce": "email_bounce",
    "dropped": "email_dropped",
    "spamreport": "spam_report",
    "unsubscribe": "unsubscribe",
    "group_unsubscribe": "unsubscribe",
    "group_resubscribe": "resubscribe",
}
IGNORED = {"deferred"}  # transient: SendGrid retries and reports the outcome later


def load_key(text: str) -> ec.EllipticCurvePublicKey:
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode(text))
    except ValueError as exc:
        raise HookRejected(
            503,
            f"sendgrid: the verification key is not a base64 or PEM public key ({exc}); copy "
            "it again from SendGrid (Settings → Mail Settings → Signed Event Webhook)",
            kind="hook-misconfigured",
        ) from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise HookRejected(
            503, "sendgrid: the verification key is not an EC key", kind="hook-misconfigured"
        )
    return key


def verify(key_text: str, body: bytes, signature: str, timestamp: str, *, tolerance_s: int,
           now: float | None = None) -> None:  # fmt: skip
    try:
        ts = int(timestamp)
    except ValueError:
        raise HookRejected(401, "sendgrid: the signature timestamp is not a number") from None
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance_s:
        raise HookRejected(
            401, f"sendgrid: the signature timestamp is {abs(current - ts):.0f} s off (replay?)"
        )
    try:
        der = base64.b64decode(signature, validate=True)
        load_key(key_text).verify(der, timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        raise HookRejected(
            401, "sendgrid: the signature does not match the body and the verification key"
        ) from None


def _check_signature(hook: SendGridHook, body: bytes, headers: Mapping[str, str], now: datetime):
    key = os.environ.get(hook.verification_key_env or "") if hook.verification_key_env else None
    if not hook.require_signature and not key:
        return
    if not key:
        raise HookRejected(
            503,
            "sendgrid: signatures are required but no verification key is configured; set "
            f"the environment variable {hook.verification_key_env or '(verification_key_env)'}",
            kind="hook-misconfigured",
        )
    sig, ts = headers.get(SIGNATURE_HEADER), headers.get(TIMESTAMP_HEADER)
    if not sig or not ts:
        raise HookRejected(
            401,
            "sendgrid: unsigned request; enable the Signed Event Webhook in SendGrid so "
            f"requests carry {SIGNATURE_HEADER} and {TIMESTAMP_HEADER}",
            kind="unsigned",
        )
    verify(key, body, sig, ts, tolerance_s=hook.tolerance_s, now=now.timestamp())


def _attributes(e: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for ours, theirs in (
        ("url", "url"),
        ("email_id", "sg_message_id"),
        ("reason", "reason"),
        ("status", "status"),
        ("bounce_type", "type"),
        ("asm_group_id", "asm_group_id"),
        ("ip", "ip"),
        ("useragent", "useragent"),
    ):
        if e.get(theirs) not in (None, ""):
            out[ours] = e[theirs]
    category = e.get("category")
    if isinstance(category, list):
        category = ",".join(str(c) for c in category)
    if category:
        out["campaign"] = category
    if e.get("sg_machine_open"):
        out["machine_open"] = True
    return out


def parse(hook: SendGridHook, body: bytes, headers: Mapping[str, str], *, now: datetime):
    _check_signature(hook, body, headers, now)
    if media_type(headers) not in ("application/json", ""):
        raise HookRejected(415, "sendgrid: the Event Webhook posts application/json")
    data = parse_json(body, "sendgrid")
    if not isinstance(data, list):
        raise HookRejected(
            400, "sendgrid: the body must be a JSON array of events", kind="malformed"
        )
    result = HookResult()
    for i, e in enumerate(data):
        if not isinstance(e, dict):
            raise HookRejected(400, f"sendgrid: event [{i}] is not an object", kind="malformed")
        missing = [k for k in ("email", "event", "timestamp") if not e.get(k)]
        if missing:
            raise HookRejected(
                400, f"sendgrid: event [{i}] has no {', '.join(missing)}", kind="malformed"
            )
        kind = str(e["event"])
        ours = TYPES.get(kind)
        if ours is None:  # deferred (transient) or an event type we do not score
            result.ignored += 1
            continue
        try:
            ts = datetime.fromtimestamp(float(e["timestamp"]), tz=UTC)
        except (TypeError, ValueError, OverflowError):
            raise HookRejected(
                400, f"sendgrid: event [{i}] timestamp {e['timestamp']!r} is not Unix seconds",
                kind="malformed",
            ) from None  # fmt: skip
        eid = e.get("sg_event_id") or stable_id("sendgrid", e)
        result.events.append(
            LeadEvent(
                type=ours,
                ts=ts,
                event_id=f"sendgrid:{eid}",
                email=str(e["email"]).strip().lower(),
                attributes=_attributes(e),
            )
        )
    return result

"""Generic form posts: JSON or form-encoded, mapped with the hook's field mapping.

Optional signature: with ``secret_env`` set, the request must carry
``X-Leadscore-Signature: sha256=<hex HMAC-SHA256 of the raw body>``; most
form tools and no-code automations can compute it, and those that cannot can
post to a hook without a secret behind a secret URL path.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from ..config import FormHook
from ..events import ContactRecord, LeadEvent
from .base import HookRejected, HookResult, media_type, parse_json, stable_id

SIGNATURE_HEADER = "x-leadscore-signature"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EMAIL = 320  # the longest e-mail the API stores


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _fields(body: bytes, headers: Mapping[str, str], source: str) -> dict[str, Any]:
    kind = media_type(headers)
    if kind == "application/json":
        data = parse_json(body, source)
        if not isinstance(data, dict):
            raise HookRejected(400, f"{source}: the JSON body must be an object", kind="malformed")
        return data
    if kind == "application/x-www-form-urlencoded":
        try:
            parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            raise HookRejected(
                400, f"{source}: the form body is not UTF-8", kind="malformed"
            ) from None
        return {k: v[-1] if len(v) == 1 else v for k, v in parsed.items()}
    raise HookRejected(
        415,
        f"{source}: unsupported content type {kind or '(none)'!r}; post application/json or "
        "application/x-www-form-urlencoded",
    )


def _lookup(data: dict[str, Any], path: str) -> Any:
    """A field by name, or a dotted path into nested JSON (``fields.email``)."""
    if path in data:
        return data[path]
    cur: Any = data
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def parse(source: str, hook: FormHook, body: bytes, headers: Mapping[str, str], *, now: datetime):
    secret = os.environ.get(hook.secret_env or "") if hook.secret_env else None
    if hook.secret_env:
        if not secret:
            raise HookRejected(
                503,
                f"{source}: the signing secret is not configured; set {hook.secret_env}",
                kind="hook-misconfigured",
            )
        given = headers.get(SIGNATURE_HEADER)
        if not given:
            raise HookRejected(
                401, f"{source}: unsigned request; send X-Leadscore-Signature", kind="unsigned"
            )
        if not hmac.compare_digest(sign(secret, body), given.strip()):
            raise HookRejected(401, f"{source}: the signature does not match the body")
    data = _fields(body, headers, source)
    email = _lookup(data, hook.email_field)
    if not isinstance(email, str) or not EMAIL.match(email.strip()):
        raise HookRejected(
            422,
            f"{source}: field {hook.email_field!r} must hold an e-mail address "
            f"(got {_short(email)}); set email_field in the hook's configuration",
            kind="unmappable",
        )
    if len(email.strip()) > MAX_EMAIL:
        raise HookRejected(
            422,
            f"{source}: field {hook.email_field!r} holds {len(email.strip())} characters; "
            f"an e-mail address has at most {MAX_EMAIL}",
            kind="unmappable",
        )
    email = email.strip().lower()
    form_id = hook.form_id
    if hook.form_id_field:
        form_id = _lookup(data, hook.form_id_field) or form_id
    attrs: dict[str, Any] = {"form_id": form_id} if form_id else {}
    for theirs, ours in hook.attributes.items():
        value = _lookup(data, theirs)
        if value not in (None, ""):
            attrs[ours] = value
    props = {}
    for theirs, ours in hook.properties.items():
        value = _lookup(data, theirs)
        if value not in (None, ""):
            props[ours] = value
    eid = _lookup(data, hook.event_id_field) if hook.event_id_field else None
    event_id = f"{source}:{eid}" if eid else f"{source}:{stable_id(source, body.hex())}"
    result = HookResult()
    if props:
        result.contacts.append(ContactRecord(email, props, source=source))
    result.events.append(
        LeadEvent(type=hook.event_type, ts=now, event_id=event_id, email=email, attributes=attrs)
    )
    return result

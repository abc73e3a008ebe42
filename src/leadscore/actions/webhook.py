"""Signed webhooks.

Each POST carries the JSON body and three headers:

* ``Leadscore-Delivery``: the delivery key, the same on every retry, so a
  receiver can drop a repeat;
* ``Leadscore-Timestamp``: Unix seconds when this attempt was signed;
* ``Leadscore-Signature``: ``v1=<hex>``, the HMAC-SHA256 of
  ``"<timestamp>.<body>"`` with the shared secret.

A receiver recomputes the HMAC, compares in constant time and refuses
timestamps older than a few minutes (replays): :func:`verify` does both.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx

SIGNATURE_HEADER = "Leadscore-Signature"
TIMESTAMP_HEADER = "Leadscore-Timestamp"
DELIVERY_HEADER = "Leadscore-Delivery"
DEFAULT_TOLERANCE_S = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(
    secret: str,
    body: bytes,
    signature: str,
    timestamp: str | int,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """True when the signature matches and the timestamp is recent enough."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)


class DeliveryFailed(Exception):
    """The receiver could not be reached or did not answer 2xx."""


def post(client: httpx.Client, url: str, body: bytes, *, secret: str, delivery: str) -> int:
    ts = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "leadscore-webhook/1",
        DELIVERY_HEADER: delivery,
        TIMESTAMP_HEADER: str(ts),
    }
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, ts, body)
    try:
        response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"receiver answered HTTP {response.status_code}")
    return response.status_code

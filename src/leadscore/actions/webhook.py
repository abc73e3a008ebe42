"""Signed webhooks.

Each POST carries the JSON body and three headers:

* ``Leadscore-Delivery``: the delivery key, the same on every retry, so a
  receiver can drop a repeat;
* ``Leadscore-Timestamp``: Unix seconds when this attempt was signed;
* ``Leadscore-Signature``: ``v1=<hex>``, the HMAC-SHA256 of
  ``"<timestamp>.<body>"`` with the shared secret; when no secret is set the
  header is absent and ``Leadscore-Unsigned: true`` says so.

A receiver recomputes the HMAC, compares in constant time and refuses
timestamps older than a few minutes (replays): :func:`verify` does both.
"""

from __future__ import annotations

import hashlib
import hmac
import ssl
import time

import httpx

from .outbound import AddressRefused

SIGNATURE_HEADER = "Leadscore-Signature"
TIMESTAMP_HEADER = "Leadscore-Timestamp"
DELIVERY_HEADER = "Leadscore-Delivery"
UNSIGNED_HEADER = "Leadscore-Unsigned"
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
    """A delivery failed. ``reason`` is one short class (``timeout``, ``refused``, ``tls``,
    ``dns``, ``blocked``, ``http_5xx``…), ``status`` the receiver's HTTP status if it
    answered; the message is ours, never the receiver's body or a raw socket error."""

    def __init__(
        self, message: str, *, reason: str = "error", status: int | None = None,
        permanent: bool = False,
    ):  # fmt: skip
        super().__init__(f"{reason}: {message}")
        self.reason, self.status, self.permanent = reason, status, permanent


def _causes(exc: BaseException):
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def classify(exc: httpx.HTTPError, timeout: float | None = None) -> DeliveryFailed:
    """One short, fixed description of a transport failure."""
    chain = list(_causes(exc))
    if any(isinstance(e, AddressRefused) for e in chain):
        return DeliveryFailed(
            "the receiver's host resolves to an address outgoing requests may not reach; "
            "no connection was attempted (allow it with the outbound_allow setting, then "
            "retry the delivery)",
            reason="blocked",
            permanent=True,
        )
    if isinstance(exc, httpx.TimeoutException):
        within = f" within {timeout:g} s" if timeout else ""
        return DeliveryFailed(f"no answer{within}", reason="timeout")
    if any(isinstance(e, ssl.SSLError) for e in chain):
        return DeliveryFailed("the TLS handshake or certificate check failed", reason="tls")
    if any(str(e).startswith("dns:") for e in chain):
        return DeliveryFailed("the receiver's host name did not resolve", reason="dns")
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return DeliveryFailed("the receiver refused the connection", reason="refused")
    if isinstance(exc, httpx.ConnectError):
        return DeliveryFailed("the receiver could not be reached", reason="unreachable")
    return DeliveryFailed("the connection failed before an answer", reason="network")


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
    else:
        headers[UNSIGNED_HEADER] = "true"
    try:
        response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        timeout = client.timeout.read if isinstance(client, httpx.Client) else None
        raise classify(exc, timeout) from None
    status = response.status_code
    if not 200 <= status < 300:
        family = f"http_{status // 100}xx"
        kind = {
            "http_3xx": "a redirect, which is not followed",
            "http_4xx": "a client error",
            "http_5xx": "a server error",
        }
        raise DeliveryFailed(
            f"the receiver answered HTTP {status} ({kind.get(family, 'not a success')})",
            reason=family,
            status=status,
        )
    return status

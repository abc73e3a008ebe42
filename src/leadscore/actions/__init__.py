"""Trigger actions: signed webhooks and e-mail, delivered from the outbox."""

from .webhook import SIGNATURE_HEADER, sign, verify

__all__ = ["SIGNATURE_HEADER", "sign", "verify"]

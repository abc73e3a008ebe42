"""Inbound webhooks: platform payloads in, leadscore events out.

Each parser takes the raw body and headers, checks the platform's signature
first, then maps the whole payload or rejects it (nothing is stored from a
payload that is partly bad, so a platform's retry brings it all again).
"""

from .base import HookRejected, HookResult
from .dispatch import parse_hook

__all__ = ["HookRejected", "HookResult", "parse_hook"]

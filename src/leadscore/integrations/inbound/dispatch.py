"""Which parser reads a webhook delivery: by the kind of hook configured for its source."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from ..config import FormHook, MailgunHook, SendGridHook
from . import forms, mailgun, sendgrid
from .base import HookResult


def parse_hook(
    source: str,
    hook: SendGridHook | MailgunHook | FormHook,
    body: bytes,
    headers: Mapping[str, str],
    *,
    now: datetime,
) -> HookResult:
    """Verify and map one webhook delivery; raises :class:`~.base.HookRejected`."""
    if isinstance(hook, SendGridHook):
        return sendgrid.parse(hook, body, headers, now=now)
    if isinstance(hook, MailgunHook):
        return mailgun.parse(hook, body, headers, now=now)
    return forms.parse(source, hook, body, headers, now=now)

"""E-mail notifications of trigger firings over SMTP."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

from .webhook import DeliveryFailed


def render(payload: dict[str, Any]) -> tuple[str, str]:
    """Subject and plain-text body of a trigger e-mail."""
    contact = payload.get("contact", {})
    score = payload.get("score", {})
    who = contact.get("email") or contact.get("id")
    subject = payload.get("subject") or f"[leadscore] {payload.get('trigger')}: {who}"
    lines = [
        f"Trigger: {payload.get('trigger')}",
        f"Contact: {contact.get('id')} <{contact.get('email') or '-'}>",
        f"Model: {payload.get('model', {}).get('name')} v{payload.get('model', {}).get('version')}",
        f"Score: {score.get('total')}  grade {score.get('grade')}  stage {score.get('stage')}",
        f"At: {payload.get('at')}",
        f"Delivery: {payload.get('delivery')}",
    ]
    return subject, "\n".join(lines) + "\n"


def send(settings: Any, to: list[str], payload: dict[str, Any]) -> None:
    if not settings.smtp_host:
        raise DeliveryFailed(
            "e-mail is not configured: set LEADSCORE_SMTP_HOST (--smtp-host)", reason="config"
        )
    subject, body = render(payload)
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Leadscore-Delivery"] = str(payload.get("delivery"))
    msg.set_content(body)
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.webhook_timeout
        ) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        reason = "timeout" if isinstance(exc, TimeoutError) else "smtp"
        raise DeliveryFailed(
            f"the SMTP server failed ({type(exc).__name__})", reason=reason
        ) from None

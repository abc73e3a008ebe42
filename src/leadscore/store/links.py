"""The columns that link a stored contact to its account (see engine/linking.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..engine.linking import EMAIL_PROPERTY, LINK_PROPERTY, account_ref, email_domain


def link_columns(properties: Mapping[str, Any], email: str | None = None) -> dict[str, Any]:
    """``account_ref`` (the explicit ``account_id`` property, trimmed) and
    ``email_domain`` for a contact's properties and e-mail, as stored with it."""
    ref = account_ref(properties.get(LINK_PROPERTY))
    domain = email_domain(email if email is not None else properties.get(EMAIL_PROPERTY))
    return {
        "account_ref": ref[:200] if ref else None,
        "email_domain": (domain or None) and domain[:253],
    }

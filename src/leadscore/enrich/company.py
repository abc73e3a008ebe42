"""Company from a business e-mail domain.

The registrable domain comes from the Public Suffix List shipped by
``publicsuffixlist`` (``mail.acme-corp.co.uk`` → ``acme-corp.co.uk``); the
company name is its first label with ``-`` and ``_`` read as spaces, each word
capitalised (``Acme Corp``). Only business domains give a company: free-mail
and disposable domains say nothing about the employer.
"""

from __future__ import annotations

import contextlib
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _psl():
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


@lru_cache(maxsize=65536)
def registrable_domain(domain: str) -> str | None:
    """``acme.co.uk`` for ``mail.acme.co.uk``; None for a bare public suffix."""
    try:
        return _psl().privatesuffix(domain.lower().strip("."))
    except Exception:  # an odd domain has no registrable part
        return None


def company_name(registrable: str) -> str:
    label = registrable.split(".", 1)[0]
    if label.startswith("xn--"):  # an internationalised name: show it in Unicode
        with contextlib.suppress(UnicodeError):
            label = label.encode("ascii").decode("idna")
    words = label.replace("_", " ").replace("-", " ").split()
    return " ".join(w[:1].upper() + w[1:] for w in words)


def company_facts(domain: str | None) -> dict[str, Any]:
    """``company`` and ``company_domain`` for a business domain (ASCII, lower case)."""
    if not domain:
        return {}
    reg = registrable_domain(domain)
    if reg is None:
        return {}
    return {"company": company_name(reg), "company_domain": reg}

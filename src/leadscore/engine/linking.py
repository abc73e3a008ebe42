"""Which account a contact belongs to: one meaning for every evaluator and the service.

* **Explicit**: the contact's ``account_id`` property (trimmed) names an account
  id. It always wins: a contact whose ``account_id`` names no known account has
  no account (it does not fall back to its e-mail domain).
* **By domain**: otherwise, the domain of the contact's ``email`` (the text after
  the last ``@``, trimmed, lower case) equal to an account's domain.

An account's ``domain`` is brought to one form when the accounts are read
(:func:`normalise_domain`: ``https://www.Acme.com/about`` → ``acme.com``).
Free-mail and disposable domains (``gmail.com``, ``mailinator.com``; the lists
of :mod:`leadscore.enrich.email`) never link: such an account keeps its domain
as a property but links no contact by it. When two accounts claim one domain,
the smallest account id links it. :class:`AccountIndex` says what it set aside.

The SQL engines read the index's ``(domain, account_id)`` pairs as a table and
compute the e-mail domain and the explicit id in SQL, the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import values as V

LINK_PROPERTY = "account_id"  # a contact's explicit account
EMAIL_PROPERTY = "email"  # a contact's address, whose domain links it otherwise
DOMAIN_PROPERTY = "domain"  # an account's web domain
ACCOUNT_ID_COLUMNS = ("id", "account_id")
EXAMPLES = 5  # names kept per kind of problem

_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")
_DOMAIN = re.compile(r"^[^\s@/\\?#:]+\.[^\s@/\\?#:.]+$")


def email_domain(value: Any) -> str | None:
    """The domain of an e-mail address: after the last ``@``, trimmed, lower case."""
    text = V.text(value)
    if text is None:
        return None
    _, at, domain = text.rpartition("@")
    if not at:
        return None
    return domain.strip().lower() or None


def account_ref(value: Any) -> str | None:
    """A contact's explicit ``account_id``, trimmed (None when missing)."""
    text = V.text(value)
    return None if text is None else text.strip()


def normalise_domain(value: Any) -> str | None:
    """An account's domain as contacts' e-mail domains are compared with it, or None
    when the value is not a domain (``acme.com`` from ``https://www.ACME.com/fr``)."""
    text = V.text(value)
    if text is None:
        return None
    text = _SCHEME.sub("", text.strip().lower())
    text = re.split(r"[/?#]", text, maxsplit=1)[0]
    text = text.rpartition("@")[2]  # an address written where the domain goes
    text = re.sub(r":[0-9]+$", "", text).strip(".")
    if text.startswith("www."):
        text = text[4:]
    return text if _DOMAIN.match(text) else None


def domain_kind(domain: str) -> str:
    """``free``, ``disposable`` or ``business`` (the enrichment lists)."""
    from ..enrich.email import domain_kind as kind

    if domain.isascii():
        return kind(domain)
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_domain = domain
    return kind(ascii_domain)


@dataclass
class LinkReport:
    """What reading the accounts set aside: accounts whose domain links no contact."""

    free: list[tuple[str, str]] = field(default_factory=list)  # (account id, domain)
    invalid: list[tuple[str, str]] = field(default_factory=list)
    shared: list[tuple[str, str, str]] = field(default_factory=list)  # (loser, domain, winner)
    counts: dict[str, int] = field(default_factory=lambda: {"free": 0, "invalid": 0, "shared": 0})

    def add(self, kind: str, item: tuple[str, ...]) -> None:
        self.counts[kind] += 1
        bucket = getattr(self, kind)
        if len(bucket) < EXAMPLES:
            bucket.append(item)

    def lines(self) -> list[str]:
        """One warning line per kind of problem, with examples."""
        out = []
        if self.counts["free"]:
            shown = ", ".join(f"{a!r} ({d})" for a, d in self.free)
            out.append(
                f"{self.counts['free']} account(s) have a free-mail or disposable domain, "
                f"which links no contact (give those contacts an account_id): {shown}"
            )
        if self.counts["invalid"]:
            shown = ", ".join(f"{a!r} ({d!r})" for a, d in self.invalid)
            out.append(
                f"{self.counts['invalid']} account domain(s) are not domains and link no "
                f"contact: {shown}"
            )
        if self.counts["shared"]:
            shown = ", ".join(f"{a!r} ({d}, kept by {w!r})" for a, d, w in self.shared)
            out.append(
                f"{self.counts['shared']} account(s) share a domain with an account of smaller "
                f"id, which links it: {shown}"
            )
        return out


class AccountIndex:
    """Accounts by id and by linkable domain."""

    def __init__(self, accounts: Iterable[Mapping[str, Any]]):
        self.by_id: dict[str, Mapping[str, Any]] = {}
        self.by_domain: dict[str, str] = {}
        self.report = LinkReport()
        for account in accounts:
            aid = str(account["id"])
            self.by_id[aid] = account
        for aid in sorted(self.by_id):
            raw = self.by_id[aid].get(DOMAIN_PROPERTY)
            if V.is_missing(raw):
                continue
            domain = normalise_domain(raw)
            if domain is None:
                self.report.add("invalid", (aid, str(raw)))
            elif domain_kind(domain) != "business":
                self.report.add("free", (aid, domain))
            elif domain in self.by_domain:
                self.report.add("shared", (aid, domain, self.by_domain[domain]))
            else:
                self.by_domain[domain] = aid

    def link(self, contact: Mapping[str, Any]) -> str | None:
        """The id of the contact's account, or None."""
        ref = account_ref(contact.get(LINK_PROPERTY))
        if ref is not None:
            return ref if ref in self.by_id else None
        domain = email_domain(contact.get(EMAIL_PROPERTY))
        return None if domain is None else self.by_domain.get(domain)

    def domain_rows(self) -> list[tuple[str, str]]:
        """(domain, account id) for every linkable domain, in domain order."""
        return sorted(self.by_domain.items())

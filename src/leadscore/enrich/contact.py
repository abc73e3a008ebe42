"""Enrich one contact, offline: :func:`enrich_contact`.

The steps, in order (each reads only the contact's own properties):

1. the country is normalised to ISO 3166 alpha-2 (``country``; the text as
   given goes to ``country_raw`` when it changed);
2. the phone number is read in that country (``phone_*``);
3. the IP address is located (``ip_*``);
4. the e-mail address is checked and classified (``email_*``);
5. the job title gives ``seniority`` and ``function``;
6. a business e-mail domain gives ``company`` and ``company_domain``;
7. a contact with no country gets the phone's country, or else the IP's
   (``country_source`` says which).

Enrichment only fills or adds: a property the contact already has (not
missing) is kept as it is. The one exception is ``country``, which is replaced
by its ISO code when it was recognised, its original text kept in
``country_raw``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..engine import values as V
from .company import company_facts
from .email import DeliverabilityCheck, domain_kind, email_facts
from .geo import country_facts, ip_facts
from .phone import phone_facts
from .titles import title_facts


@dataclass(frozen=True)
class EnrichOptions:
    """Where enrichment reads its inputs, and what it may do.

    Each input is read from the first listed property the contact has (in a
    DuckDB table, column names match whatever their case).
    """

    email: tuple[str, ...] = ("email", "email_address")
    phone: tuple[str, ...] = ("phone", "mobile", "phone_number", "mobile_phone")
    country: tuple[str, ...] = ("country",)
    ip: tuple[str, ...] = ("ip", "ip_address")
    job_title: tuple[str, ...] = ("job_title", "title", "jobtitle")
    check_deliverability: bool = False  # opt-in DNS lookups per e-mail domain
    dns_timeout: float = 5.0
    fill_country: bool = True  # a contact with no country gets the phone's, then the IP's


DEFAULT_OPTIONS = EnrichOptions()


# The properties enrichment derives from each input, to forget when that input changes.
DERIVED_FROM: dict[str, tuple[str, ...]] = {
    "email": ("email_valid", "email_normalized", "email_domain", "email_type",
              "email_deliverable", "company_domain"),
    "phone": ("phone_valid", "phone_type", "phone_country", "phone_e164", "phone_international"),
    "ip": ("ip_valid", "ip_country"),
    "job_title": ("seniority", "function"),
    "country": ("country_raw", "country_valid", "country_source", "phone_valid", "phone_type",
                "phone_country", "phone_e164", "phone_international"),
}  # fmt: skip


def input_kind(name: str, options: EnrichOptions = DEFAULT_OPTIONS) -> str | None:
    """Which enrichment input a property is (``email``, ``phone``, …), if any."""
    for kind in ("email", "phone", "ip", "job_title", "country"):
        if name in getattr(options, kind):
            return kind
    return None


def forget_derived(
    properties: Mapping[str, Any],
    changed: Iterable[str],
    options: EnrichOptions = DEFAULT_OPTIONS,
) -> dict[str, Any]:
    """The properties without what enrichment derived from the ``changed`` inputs.

    Enrichment only fills, so a contact whose e-mail changes must lose its old
    ``email_type`` before it is enriched again. Properties named in ``changed``
    themselves are kept (a value given with the update wins), and so is
    ``company``, which may have been typed by a person. A country that came from
    the phone or the IP is forgotten when that input changes.
    """
    changed = set(changed)
    drop: set[str] = set()
    kinds = {input_kind(name, options) for name in changed} - {None}
    for kind in kinds:
        drop.update(DERIVED_FROM[kind])
        if kind in ("phone", "ip") and properties.get("country_source") == kind:
            drop.update(("country", "country_source"))
    return {k: v for k, v in properties.items() if k not in drop or k in changed}


def _first(props: Mapping[str, Any], names: tuple[str, ...]) -> tuple[str | None, Any]:
    for name in names:
        if name in props and not V.is_missing(props[name]):
            return name, props[name]
    return None, None


def derive(
    properties: Mapping[str, Any],
    options: EnrichOptions = DEFAULT_OPTIONS,
    deliverability: DeliverabilityCheck | None = None,
) -> dict[str, Any]:
    """Everything enrichment can tell about a contact, before the fill-only merge."""
    out: dict[str, Any] = {}
    _, raw_country = _first(properties, options.country)
    country = country_facts(raw_country)
    out.update(country)
    if country:
        out["country_source"] = "contact"
    region = country.get("country")
    _, phone = _first(properties, options.phone)
    out.update(phone_facts(phone, region))
    _, ip = _first(properties, options.ip)
    out.update(ip_facts(ip))
    _, email = _first(properties, options.email)
    if options.check_deliverability and deliverability is None:
        deliverability = DeliverabilityCheck(timeout=options.dns_timeout)
    out.update(email_facts(email, deliverability if options.check_deliverability else None))
    domain = out.get("email_domain")
    if domain and domain_kind(domain) == "business":
        out.update(company_facts(domain))
    _, title = _first(properties, options.job_title)
    out.update(title_facts(title))
    if options.fill_country and raw_country is None:
        if out.get("phone_country"):
            out["country"], out["country_source"] = out["phone_country"], "phone"
        elif out.get("ip_country"):
            out["country"], out["country_source"] = out["ip_country"], "ip"
    return out


def merge(properties: Mapping[str, Any], derived: Mapping[str, Any]) -> dict[str, Any]:
    """The contact with ``derived`` filled in: existing values win, except a normalised
    country, which replaces the given one (kept in ``country_raw``)."""
    out = dict(properties)
    for name, value in derived.items():
        if value is None:
            continue
        replaces = name == "country" and derived.get("country_source") == "contact"
        if replaces or V.is_missing(out.get(name)):
            out[name] = value
    return out


def enrich_contact(
    properties: Mapping[str, Any],
    options: EnrichOptions = DEFAULT_OPTIONS,
    *,
    deliverability: DeliverabilityCheck | None = None,
) -> dict[str, Any]:
    """A new dict: the contact's properties with the enrichment properties added.

    Pure and offline (unless ``options.check_deliverability``), and never raises
    for a malformed value: a bad e-mail gives ``email_valid: False`` and
    ``email_type: "invalid"``, a bad phone ``phone_valid: False``, and so on.
    """
    return merge(properties, derive(properties, options, deliverability))

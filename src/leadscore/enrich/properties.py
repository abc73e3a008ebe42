"""The properties enrichment adds, declared once.

This list feeds the batch columns, the docs test (every property must be
documented in ``docs/enrichment.md``) and the summary of ``leadscore enrich``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Property:
    name: str
    values: str
    help: str


PROPERTIES: tuple[Property, ...] = (
    Property("email_valid", "true / false", "the e-mail address is syntactically valid"),
    Property("email_normalized", "text", "the address in normal form, lower case"),
    Property("email_domain", "text", "the domain after the @, lower case, ASCII (IDNA)"),
    Property(
        "email_type", "business / free / disposable / role / invalid", "what kind of address it is"
    ),
    Property(
        "email_deliverable",
        "true / false",
        "the domain accepts mail (DNS MX); only with the opt-in DNS check",
    ),
    Property("phone_valid", "true / false", "the phone number is a valid number"),
    Property(
        "phone_type",
        "mobile / fixed / fixed_or_mobile / toll_free / voip / ... / invalid",
        "kind of line",
    ),
    Property("phone_country", "ISO 3166 alpha-2", "country of the phone number"),
    Property("phone_e164", "text", "the number in E.164 form, e.g. +33123456789"),
    Property(
        "phone_international", "text", "the number in international form, e.g. +33 1 23 45 67 89"
    ),
    Property("ip_valid", "true / false", "the IP address is a well-formed IPv4 or IPv6 address"),
    Property(
        "ip_country",
        "ISO 3166 alpha-2",
        "country the address block is registered to (empty for private or unassigned)",
    ),
    Property("country", "ISO 3166 alpha-2", "the contact's country, normalised"),
    Property("country_raw", "text", "the country as given, when normalisation changed it"),
    Property("country_valid", "true / false", "the given country was recognised"),
    Property("country_source", "contact / phone / ip", "where the country came from"),
    Property(
        "seniority",
        "c_level / vp / director / manager / individual",
        "seniority read from the job title",
    ),
    Property(
        "function",
        "sales / marketing / engineering / it / finance / hr / operations / "
        "product / legal / customer_service / executive / other",
        "job function read from the job title",
    ),
    Property("company", "text", "company name from a business e-mail domain, when blank"),
    Property("company_domain", "text", "the registrable domain of a business e-mail"),
    Property(
        "enrichment_pending",
        "comma-separated names",
        "outside enrichers that failed and are to be retried (absent when all answered)",
    ),
)
PROPERTY_NAMES: tuple[str, ...] = tuple(p.name for p in PROPERTIES)
BOOLEAN_PROPERTIES = frozenset(
    {"email_valid", "email_deliverable", "phone_valid", "ip_valid", "country_valid"}
)

"""Enrichment: what can be learned about a contact from its own properties.

Offline, built in (see ``docs/enrichment.md`` for every property):

* :func:`enrich_contact` — one contact (a mapping) → a new dict with the
  enrichment properties filled in;
* :func:`enrich_table` — the same over a DuckDB table, once per distinct value;

outside services plug in through :class:`Enricher` / :class:`HttpEnricher`
(timeout, cache, rate limit, failures marked for retry, never raised). Which form
fields are worth asking a contact next (progressive profiling) is a what-if over
scores: :func:`leadscore.evaluate.profiling.next_questions`.
"""

from .batch import EnrichReport, enrich_table
from .contact import (
    DEFAULT_OPTIONS,
    EnrichOptions,
    derive,
    enrich_contact,
    forget_derived,
    merge,
)
from .email import DeliverabilityCheck
from .properties import PROPERTIES, PROPERTY_NAMES, Property
from .remote import (
    Enricher,
    HttpEnricher,
    Outcome,
    Pending,
    Unavailable,
    apply_enrichers,
    enrich_on_upsert,
)


def forget_cached_values() -> None:
    """Empty the offline enrichment's caches keyed by whole addresses and phone numbers
    (personal data); the caches of domains, countries and titles stay."""
    from . import email, phone

    email._full.cache_clear()
    phone._facts.cache_clear()


__all__ = [
    "DEFAULT_OPTIONS",
    "PROPERTIES",
    "PROPERTY_NAMES",
    "DeliverabilityCheck",
    "EnrichOptions",
    "EnrichReport",
    "Enricher",
    "HttpEnricher",
    "Outcome",
    "Pending",
    "Property",
    "Unavailable",
    "apply_enrichers",
    "derive",
    "enrich_contact",
    "enrich_on_upsert",
    "enrich_table",
    "forget_cached_values",
    "forget_derived",
    "merge",
]

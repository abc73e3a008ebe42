"""Plugging leadscore into the marketers' stack.

* :mod:`.crm`: HubSpot and Pipedrive connectors: import contacts (and HubSpot
  engagement events), write score, grade, stage and top reasons back when
  they change: batched, rate limited, retried, logged.
* :mod:`.inbound`: webhook payloads of form tools and e-mail platforms
  (SendGrid, Mailgun) mapped to leadscore events, with signature checks.
* :mod:`.tracking`: the first-party ``t.js`` script and the identity merge
  of anonymous visitors into contacts.
* :mod:`.router`: one FastAPI router (``POST /hooks/{source}``, ``GET /t.js``,
  ``POST /t``, ``GET /integrations/sync-log``) the service mounts with one line.
* :mod:`.exports`: scores as CSV/Parquet and the "score changed" webhook payload.

Everything talks to the rest of leadscore through :class:`.events.LeadSink`,
a two-method interface (ingest events, upsert contacts).
"""

from typing import Any

from .events import ContactRecord, InMemorySink, LeadEvent, LeadSink


def install(app: Any) -> None:
    """Mount the integrations on the service's app (see :mod:`.mount`)."""
    from .mount import install as _install

    _install(app)


__all__ = ["ContactRecord", "InMemorySink", "LeadEvent", "LeadSink", "install"]

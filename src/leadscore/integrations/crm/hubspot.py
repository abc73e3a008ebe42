"""HubSpot CRM v3: contacts batch upsert/update, contact list with ``after`` paging, events.

Calls made (all with ``Authorization: Bearer <private app token>``):

* ``POST /crm/v3/objects/contacts/batch/upsert`` (``idProperty: email``, at most
  100 inputs) or ``POST /crm/v3/objects/contacts/batch/update`` (by HubSpot id)
  to write the score properties;
* ``GET /crm/v3/objects/contacts?limit=100&properties=...&after=...`` to import
  contacts, following ``paging.next.after``;
* ``GET /events/v3/events/?objectType=contact&objectId=...&after=...`` to import
  a contact's engagement events (page views, form submissions ...);
* ``GET /email/public/v1/events?limit=1000&offset=...`` for marketing e-mail
  events (sends, opens, clicks, bounces), which the events API leaves out;
  only those of imported contacts are kept.

The score properties must exist in HubSpot (Settings → Properties, single-line
text or number); a missing one answers 400, which is reported per batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from ...engine import values as V
from ..config import HubSpotConfig
from ..events import ContactRecord, LeadEvent
from ..http import ApiClient, Clock, RetryPolicy
from .base import ScoreUpdate, WriteResult

PAGE = 100


def client_for(config: HubSpotConfig, token: str, *, clock: Clock | None = None, **kw: Any):
    return ApiClient(
        "hubspot",
        config.base_url,
        token,
        auth_headers=lambda t: {"Authorization": f"Bearer {t}"},
        policy=RetryPolicy(
            max_attempts=config.max_attempts,
            max_retry_after_s=config.max_retry_after_s,
            deadline_s=config.deadline_s,
        ),
        rate=config.requests_per_second,
        burst=config.burst,
        clock=clock,
        timeout_s=config.timeout_s,
        **kw,
    )


class HubSpotConnector:
    system = "hubspot"

    def __init__(self, config: HubSpotConfig, client: ApiClient):
        self.config = config
        self.client = client
        self.batch_size = config.batch_size
        self.fields = config.properties

    @classmethod
    def from_config(cls, config: HubSpotConfig, **kw: Any) -> HubSpotConnector:
        return cls(config, client_for(config, config.token(), **kw))

    def close(self) -> None:
        self.client.close()

    # ------------------------------------------------------------------ write
    def write(self, batch: Sequence[ScoreUpdate]) -> list[WriteResult]:
        if self.config.match_on == "email":
            return self._upsert_by_email(batch)
        return self._update_by_id(batch)

    def _upsert_by_email(self, batch: Sequence[ScoreUpdate]) -> list[WriteResult]:
        results, inputs, sent = [], [], []
        for u in batch:
            if not u.email:
                results.append(WriteResult(u.contact_id, False, error="no e-mail to match on"))
                continue
            email = u.email.strip().lower()
            inputs.append({"idProperty": "email", "id": email, "properties": u.values(self.fields)})
            sent.append((u, email))
        if inputs:
            body = self.client.request(
                "POST", "/crm/v3/objects/contacts/batch/upsert", json={"inputs": inputs}
            )
            remote = {}
            for r in (body or {}).get("results", []):
                props = r.get("properties") or {}
                if props.get("email"):
                    remote[str(props["email"]).lower()] = str(r.get("id"))
            failed = _errors_by_id(body)
            for u, email in sent:
                if email in failed:
                    results.append(WriteResult(u.contact_id, False, error=failed[email]))
                else:
                    results.append(WriteResult(u.contact_id, True, remote_id=remote.get(email)))
        return results

    def _update_by_id(self, batch: Sequence[ScoreUpdate]) -> list[WriteResult]:
        results, inputs, sent = [], [], []
        for u in batch:
            if not u.external_id:
                results.append(
                    WriteResult(
                        u.contact_id,
                        False,
                        error=f"no HubSpot id (property {self.config.id_property!r})",
                    )
                )
                continue
            inputs.append({"id": u.external_id, "properties": u.values(self.fields)})
            sent.append(u)
        if inputs:
            body = self.client.request(
                "POST", "/crm/v3/objects/contacts/batch/update", json={"inputs": inputs}
            )
            failed = _errors_by_id(body)
            for u in sent:
                err = failed.get(str(u.external_id))
                results.append(
                    WriteResult(u.contact_id, err is None, remote_id=u.external_id, error=err)
                )
        return results

    # ------------------------------------------------------------------ read
    def contacts(self) -> Iterator[ContactRecord]:
        mapping = self.config.import_properties
        params: dict[str, Any] = {"limit": PAGE, "properties": ",".join(sorted(mapping))}
        for _ in range(1_000_000):  # bounded: a cursor that never ends is a server bug
            body = self.client.request("GET", "/crm/v3/objects/contacts", params=params) or {}
            for r in body.get("results", []):
                props = r.get("properties") or {}
                mine = {
                    ours: props[theirs]
                    for theirs, ours in mapping.items()
                    if props.get(theirs) not in (None, "")
                }
                mine[self.config.id_property] = str(r["id"])
                email = props.get("email") or None
                yield ContactRecord(email.lower() if email else None, mine, str(r["id"]), "hubspot")
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return
            params = {**params, "after": after}

    def events(self, contacts: Iterable[ContactRecord]) -> Iterator[LeadEvent]:
        """Engagement events of each contact (``event_types``), then their marketing
        e-mail events (``email_event_types``); unmapped types are skipped."""
        contacts = list(contacts)
        yield from self._object_events(contacts)
        if self.config.email_event_types:
            yield from self.email_events({c.email for c in contacts if c.email})

    def email_events(self, recipients: set[str]) -> Iterator[LeadEvent]:
        types = self.config.email_event_types
        params: dict[str, Any] = {"limit": 1000}
        for _ in range(1_000_000):
            body = self.client.request("GET", "/email/public/v1/events", params=params) or {}
            for r in body.get("events", []):
                ours = types.get(str(r.get("type")))
                email = str(r.get("recipient") or "").strip().lower()
                if ours is None or email not in recipients:
                    continue
                attrs = {k: r[k] for k in ("url",) if r.get(k)}
                if r.get("emailCampaignId") is not None:
                    attrs["campaign"] = str(r["emailCampaignId"])
                yield LeadEvent(
                    type=ours,
                    ts=_ts(int(r["created"]) / 1000),
                    event_id=f"hubspot-email:{r.get('id')}",
                    email=email,
                    attributes=attrs,
                )
            if not body.get("hasMore") or not body.get("offset"):
                return
            params = {**params, "offset": body["offset"]}

    def _object_events(self, contacts: Iterable[ContactRecord]) -> Iterator[LeadEvent]:
        types = self.config.event_types
        for c in contacts:
            if not c.external_id or not (c.email or c.contact_id):
                continue
            params: dict[str, Any] = {
                "objectType": "contact",
                "objectId": c.external_id,
                "limit": PAGE,
            }
            for _ in range(1_000_000):
                body = self.client.request("GET", "/events/v3/events/", params=params) or {}
                for r in body.get("results", []):
                    ours = types.get(str(r.get("eventType")))
                    if ours is None:
                        continue
                    yield LeadEvent(
                        type=ours,
                        ts=_ts(r.get("occurredAt")),
                        event_id=f"hubspot:{r.get('id')}",
                        email=c.email,
                        contact_id=c.contact_id,
                        attributes=_event_attributes(r.get("properties") or {}),
                    )
                after = ((body.get("paging") or {}).get("next") or {}).get("after")
                if not after:
                    break
                params = {**params, "after": after}


def _ts(value: Any) -> datetime:
    return V.timestamp(value if isinstance(value, int | float) else str(value))


def _event_attributes(props: dict[str, Any]) -> dict[str, Any]:
    rename = {"hs_url": "url", "hs_form_id": "form_id", "hs_page_title": "title"}
    out: dict[str, Any] = {}
    for k, v in props.items():
        out[rename.get(k, k)] = v
    return out


def _errors_by_id(body: Any) -> dict[str, str]:
    """Per-input errors of a 207 multi-status answer, by the input id they name."""
    out: dict[str, str] = {}
    for err in (body or {}).get("errors", []) or []:
        message = str(err.get("message", "error"))[:300]
        ctx = err.get("context") or {}
        for key in ("ids", "id"):
            for i in ctx.get(key, []) or []:
                out[str(i).lower()] = message
    return out

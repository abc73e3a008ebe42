"""Pipedrive: persons API v2 (cursor paging, PATCH custom fields), person fields v1.

Calls made (all with the ``x-api-token`` header, never the query string):

* ``GET /api/v1/personFields?start=..&limit=..`` once, to turn configured field
  names ("Lead score") into their 40-character keys;
* ``GET /api/v2/persons/search?term=<email>&fields=email&exact_match=true`` to find
  the person of a contact that has no stored Pipedrive id;
* ``PATCH /api/v2/persons/{id}`` with ``{"custom_fields": {key: value}}`` per
  person (Pipedrive has no batch update; the limiter spaces the calls);
* ``GET /api/v2/persons?limit=100&cursor=..`` to import persons, following
  ``additional_data.next_cursor``.

Rate limits: on 429 the client waits ``Retry-After`` if sent, else
``x-ratelimit-reset`` (seconds until the window resets).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ..config import PipedriveConfig, ScoreFields
from ..events import ContactRecord, LeadEvent
from ..http import ApiClient, Clock, CrmError, CrmRequestError, RetryPolicy
from .base import ScoreUpdate, WriteResult

PAGE = 100
FIELD_KEY = re.compile(r"^[0-9a-f]{40}$")


def client_for(config: PipedriveConfig, token: str, *, clock: Clock | None = None, **kw: Any):
    return ApiClient(
        "pipedrive",
        config.base_url,
        token,
        auth_headers=lambda t: {"x-api-token": t},
        policy=RetryPolicy(
            max_attempts=config.max_attempts,
            max_retry_after_s=config.max_retry_after_s,
            deadline_s=config.deadline_s,
        ),
        rate=config.requests_per_second,
        burst=config.burst,
        reset_header="x-ratelimit-reset",
        clock=clock,
        timeout_s=config.timeout_s,
        **kw,
    )


class PipedriveConnector:
    system = "pipedrive"
    # Pipedrive has no batch update: each person is one PATCH, so one person per
    # round lets a sync stopped by the CRM record exactly who was written.
    batch_size = 1

    def __init__(self, config: PipedriveConfig, client: ApiClient):
        self.config = config
        self.client = client
        self._keys: ScoreFields | None = None
        self._person_of: dict[str, str | None] = {}

    @classmethod
    def from_config(cls, config: PipedriveConfig, **kw: Any) -> PipedriveConnector:
        return cls(config, client_for(config, config.token(), **kw))

    def close(self) -> None:
        self.client.close()

    def forget(self, email: str | None) -> None:
        """Drop the remembered person id of an address (a GDPR erase)."""
        if email:
            self._person_of.pop(email.strip().lower(), None)

    # ------------------------------------------------------------------ fields
    @property
    def fields(self) -> ScoreFields:
        """Configured fields with names resolved to keys (asks Pipedrive once)."""
        if self._keys is None:
            wanted = dict(self.config.fields.items())
            if all(FIELD_KEY.match(v) for v in wanted.values()):
                self._keys = self.config.fields
            else:
                by_name = self._field_keys()
                resolved = {}
                for name, target in wanted.items():
                    if FIELD_KEY.match(target):
                        resolved[name] = target
                    elif target in by_name:
                        resolved[name] = by_name[target]
                    else:
                        raise CrmError(
                            f"pipedrive: no person field named {target!r} (for {name}); "
                            "create it in Pipedrive (Company settings → Data fields → Person, "
                            "type Text) or give its 40-character key in crm.pipedrive.fields"
                        )
                self._keys = ScoreFields(**{k: resolved.get(k) for k in ScoreFields.model_fields})
        return self._keys

    def _field_keys(self) -> dict[str, str]:
        out: dict[str, str] = {}
        start = 0
        for _ in range(10_000):
            body = self.client.request(
                "GET", "/api/v1/personFields", params={"start": start, "limit": PAGE}
            )
            for f in (body or {}).get("data") or []:
                out.setdefault(str(f.get("name")), str(f.get("key")))
            page = ((body or {}).get("additional_data") or {}).get("pagination") or {}
            if not page.get("more_items_in_collection"):
                break
            start = int(page.get("next_start", start + PAGE))
        return out

    # ------------------------------------------------------------------ write
    def _find_person(self, email: str) -> str | None:
        email = email.strip().lower()
        if email not in self._person_of:
            body = self.client.request(
                "GET",
                "/api/v2/persons/search",
                params={"term": email, "fields": "email", "exact_match": "true", "limit": 2},
            )
            items = (((body or {}).get("data") or {}).get("items")) or []
            ids = sorted(str(i["item"]["id"]) for i in items if i.get("item"))
            self._person_of[email] = ids[0] if ids else None
        return self._person_of[email]

    def write(self, batch: Sequence[ScoreUpdate]) -> list[WriteResult]:
        fields = self.fields
        out = []
        for u in batch:
            pid = u.external_id or (self._find_person(u.email) if u.email else None)
            if pid is None:
                out.append(
                    WriteResult(u.contact_id, False, error="no Pipedrive person with this e-mail")
                )
                continue
            try:
                self.client.request(
                    "PATCH", f"/api/v2/persons/{pid}", json={"custom_fields": u.values(fields)}
                )
            except CrmRequestError as exc:
                out.append(WriteResult(u.contact_id, False, remote_id=pid, error=str(exc)))
                continue
            out.append(WriteResult(u.contact_id, True, remote_id=pid))
        return out

    # ------------------------------------------------------------------ read
    def contacts(self) -> Iterator[ContactRecord]:
        mapping = self.config.import_properties
        params: dict[str, Any] = {"limit": PAGE}
        for _ in range(1_000_000):
            body = self.client.request("GET", "/api/v2/persons", params=params) or {}
            for p in body.get("data") or []:
                email = _primary(p.get("emails") or p.get("email") or [])
                props = {
                    ours: p[theirs]
                    for theirs, ours in mapping.items()
                    if p.get(theirs) not in (None, "")
                }
                if email:
                    props["email"] = email
                props[self.config.id_property] = str(p["id"])
                yield ContactRecord(email, props, str(p["id"]), "pipedrive")
            cursor = (body.get("additional_data") or {}).get("next_cursor")
            if not cursor:
                return
            params = {**params, "cursor": cursor}

    def events(self, contacts: Iterable[ContactRecord]) -> Iterator[LeadEvent]:
        return iter(())  # Pipedrive keeps no web or e-mail engagement to import


def _primary(emails: list[Any]) -> str | None:
    values = [e for e in emails if isinstance(e, dict) and e.get("value")]
    if not values:
        return None
    chosen = next((e for e in values if e.get("primary")), values[0])
    return str(chosen["value"]).strip().lower()

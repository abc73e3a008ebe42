"""Load a model and sample contacts/events into a store, for the demo and for trying out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ..data.io import load_inputs
from ..engine import values as V
from ..store import Store
from ..store import tables as T
from ..store.links import link_columns
from .auth import create_key
from .core import Service, audit
from .settings import load_settings
from .versions import create_draft, publish

BATCH = 5000
EVENT_FIELDS = ("type", "ts", "event_id", "id", "contact_id")


def seed_demo(
    database_url: str,
    model_path: str | Path,
    contacts_path: str | Path,
    events_path: str | Path | None = None,
    *,
    enrich: bool = False,
    key_name: str = "demo admin",
) -> dict[str, Any]:
    """Fill a store: contacts, events, the model published (no triggers fired).

    Returns counts and a new admin API key token for the demo to print. Contacts
    already in the store are updated; events with an ``event_id`` already stored
    are skipped, so seeding twice does not double anything.
    """
    settings = load_settings(
        {"database": database_url, "outbox_poll_interval": 0, "sweep_interval": 0}
    )
    store = Store(settings.database)
    svc = Service(settings, store)
    inputs = load_inputs(contacts_path, events_path, enrich=enrich)
    now = datetime.now(UTC)
    n_contacts = n_events = 0
    contacts: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal contacts, events
        with store.write() as conn:
            if contacts:
                ids = [c["id"] for c in contacts]
                conn.execute(sa.delete(T.contacts).where(T.contacts.c.id.in_(ids)))
                conn.execute(sa.insert(T.contacts), contacts)
            if events:
                keys = [e["idempotency_key"] for e in events if e["idempotency_key"]]
                known = (
                    set(
                        conn.execute(
                            sa.select(T.events.c.idempotency_key).where(
                                T.events.c.idempotency_key.in_(keys)
                            )
                        ).scalars()
                    )
                    if keys
                    else set()
                )
                fresh = [e for e in events if e["idempotency_key"] not in known]
                if fresh:
                    conn.execute(sa.insert(T.events), fresh)
        contacts, events = [], []

    for contact, evs in inputs.contact_rows():
        cid = str(contact.pop("id"))
        props = {k: v for k, v in contact.items() if not V.is_missing(v)}
        email = props.get("email")
        email = str(email).strip().lower() if email and "@" in str(email) else None
        contacts.append(
            {
                "id": cid,
                "email": email,
                "properties": props,
                "created_at": now,
                "updated_at": now,
                **link_columns(props, email),
            }
        )
        n_contacts += 1
        for ev in evs:
            key = ev.get("event_id")
            attrs = {k: v for k, v in ev.items() if k not in EVENT_FIELDS and v is not None}
            events.append(
                {
                    "contact_id": cid,
                    "type": str(ev["type"]),
                    "ts": ev["ts"],
                    "idempotency_key": str(key) if key is not None else None,
                    "attributes": {k: _plain(v) for k, v in attrs.items()},
                    "received_at": now,
                }
            )
            n_events += 1
        if len(contacts) >= BATCH or len(events) >= BATCH * 4:
            flush()
    flush()
    inputs.con.close()
    text = Path(model_path).read_text(encoding="utf-8")
    draft = create_draft(svc, text, {}, "demo")
    published = publish(svc, draft["name"], draft["version"], "demo", fire_triggers=False)
    with store.write() as conn:
        key_id, token = create_key(conn, f"{key_name} {uuid.uuid4().hex[:6]}", "admin")
        audit(conn, "demo", "demo.seed", None, {"contacts": n_contacts, "events": n_events})
    store.dispose()
    return {
        "contacts": n_contacts,
        "events": n_events,
        "model": draft["name"],
        "version": draft["version"],
        "stage_changes": published["stage_changes"],
        "key_id": key_id,
        "token": token,
    }


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)

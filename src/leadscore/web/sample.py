"""Sample data for the web app: contacts, events, accounts and published models in a store.

Contacts, events and the companies they work for come from the project's seeded
synthetic funnel (:func:`leadscore.data.generate.simulate`), moved in time so the
data ends now, enriched offline, and written to the store; the bundled B2B SaaS
model and the account-based one (``examples/abm.yaml``) are then scored week by
week over the last weeks (so the history, the MQLs per week and the triggers look
like a running service) and published.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ..service import versions
from ..service.core import Service, utcnow
from ..service.rescoring import rescore
from ..store import tables as T
from ..store.links import link_columns

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
EXAMPLE_MODEL = EXAMPLES / "b2b_saas.yaml"
ACCOUNT_MODEL = EXAMPLES / "abm.yaml"  # the same contacts' model, and their accounts
HISTORY_WEEKS = 12
Step = Callable[[str, int, int], None]
"""Told as each step of :func:`seed` starts: what it does, how many steps are done
before it, and how many there are in all."""


def _value(v: Any, shift: timedelta) -> Any:
    if isinstance(v, datetime):
        return (v + shift).astimezone(UTC).isoformat()
    return v


def seed(
    svc: Service,
    contacts: int = 400,
    seed: int = 7,
    *,
    events_per_contact: float = 20,
    model_yaml: str | None = None,
    account_model_yaml: str | None = None,
    now: datetime | None = None,
    weeks: int = HISTORY_WEEKS,
    progress: Step | None = None,
) -> dict[str, Any]:
    """Fill an empty store with sample data (contacts, events, the companies they work
    for) and publish the example model, and the account-based one beside it
    (``account_model_yaml``: another model text, or "" for none).

    ``progress`` is told of each step as it starts (see :data:`Step`): making the
    data, writing it, each week of history, each publish."""
    from ..data.generate import END, simulate
    from ..enrich import enrich_contact

    texts = [model_yaml if model_yaml is not None else EXAMPLE_MODEL.read_text()]
    total = 2 + weeks + 1 + (account_model_yaml != "")  # a guess until accounts are known
    done = 0

    def step(what: str) -> None:
        nonlocal done
        if progress is not None:
            progress(what, done, total)
        done += 1

    now = now or utcnow()
    shift = now - END
    step(f"making {contacts:,} sample contacts and their events")
    data = simulate(contacts, seed, events_per_contact=events_per_contact)
    rows = data.contacts.to_pylist()
    contact_rows = []
    for r in rows:
        props = {k: _value(v, shift) for k, v in r.items() if k != "id" and v is not None}
        props = {k: v for k, v in enrich_contact(props).items() if v is not None}
        email = props.get("email")
        contact_rows.append(
            {
                "id": r["id"],
                "email": email.strip().lower() if isinstance(email, str) else None,
                "properties": props,
                "created_at": now,
                "updated_at": now,
            }
        )
    seen_email: set[str] = set()
    for c in contact_rows:  # the store keeps e-mails unique
        if c["email"] in seen_email:
            c["email"] = None
        elif c["email"]:
            seen_email.add(c["email"])
        c.update(link_columns(c["properties"], c["email"]))
    event_rows = []
    for e in data.events.to_pylist():
        attrs = {
            k: v
            for k, v in e.items()
            if k not in ("contact_id", "event_id", "type", "ts") and v is not None
        }
        event_rows.append(
            {
                "contact_id": e["contact_id"],
                "type": e["type"],
                "ts": e["ts"] + shift,
                "idempotency_key": e["event_id"],
                "attributes": attrs,
                "received_at": e["ts"] + shift,
            }
        )
    dedup = {r["idempotency_key"]: r for r in event_rows}
    account_rows = _accounts(data.accounts, now) if data.accounts is not None else []
    if account_model_yaml is None and account_rows:
        account_model_yaml = ACCOUNT_MODEL.read_text()
    if account_model_yaml:
        texts.append(account_model_yaml)
    total = 2 + weeks + len(texts)
    step(f"writing {len(contact_rows):,} contacts and {len(dedup):,} events")
    with svc.store.write() as conn:
        conn.execute(sa.insert(T.contacts), contact_rows)
        if account_rows:
            conn.execute(sa.insert(T.accounts), account_rows)
        for start in range(0, len(dedup), 5000):
            conn.execute(sa.insert(T.events), list(dedup.values())[start : start + 5000])
    pubs = []
    for text in texts:
        draft = versions.create_draft(svc, text, {}, "sample")
        with svc.store.read() as conn:
            row = versions.version_row(conn, draft["name"], draft["version"])
            pubs.append(versions._pub(svc, row))
    ids = [c["id"] for c in contact_rows]
    for k in range(weeks, 0, -1):
        step(f"scoring week {weeks - k + 1} of {weeks} of history")
        with svc.store.write() as conn:
            rescore(conn, ids, pubs, cause="event", as_of=now - timedelta(weeks=k), fire=True)
    results = []
    for p in pubs:
        step(f"publishing {p.name}: every contact rescored as of now")
        results.append(versions.publish(svc, p.name, p.version, "sample", fire_triggers=True))
    if progress is not None:
        progress("done", total, total)
    return {
        "contacts": len(contact_rows),
        "events": len(dedup),
        "accounts": len(account_rows),
        "model": pubs[0].name,
        "version": pubs[0].version,
        "models": [p.name for p in pubs],
        "published": results[0],
    }


def _accounts(table: Any, now: datetime) -> list[dict[str, Any]]:
    """Store rows for the generated accounts: a domain kept only where contacts may link
    by it (as the API would accept it), the rest as properties."""
    from ..engine.linking import domain_kind, normalise_domain

    rows, taken = [], set()
    for r in table.to_pylist():
        domain = normalise_domain(r.get("domain"))
        if domain is None or domain in taken or domain_kind(domain) != "business":
            domain = None
        taken.add(domain)
        props = {k: v for k, v in r.items() if k not in ("id", "domain") and v is not None}
        rows.append(
            {
                "id": r["id"],
                "domain": domain,
                "properties": props,
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    """``python -m leadscore.web.sample``: fill a store with sample data and add an admin."""
    import argparse

    from ..errors import LeadscoreError
    from ..service.settings import load_settings
    from . import users

    parser = argparse.ArgumentParser(
        prog="python -m leadscore.web.sample",
        description="Fill an empty store with sample contacts, events and the published "
        "example model, and create an admin for the web app.",
    )
    parser.add_argument("--database", default=None, help="store URL (default: the service's)")
    parser.add_argument("--contacts", type=int, default=1000, help="sample contacts to make")
    parser.add_argument("--seed", type=int, default=7, help="seed of the sample data")
    parser.add_argument("--admin", default="admin@example.com", help="the admin's e-mail")
    parser.add_argument(
        "--password", default="leadscore-demo", help="the admin's password (a demo one)"
    )
    args = parser.parse_args(argv)
    try:
        svc = Service(load_settings({"database": args.database}))
        with svc.store.read() as conn:
            if conn.execute(sa.select(sa.func.count()).select_from(T.contacts)).scalar_one():
                raise SystemExit(
                    "the store already holds contacts; sample data goes into an empty store"
                )
        done = seed(svc, args.contacts, args.seed)
        with svc.store.write() as conn:
            users.create_user(conn, args.admin, args.password, "admin")
    except LeadscoreError as exc:
        raise SystemExit(f"Error: {exc}") from None
    print(
        f"{done['contacts']} contacts, {done['events']} events, {done['accounts']} accounts; "
        f"{', '.join(done['models'])} published; sign in as {args.admin} / {args.password} "
        "after `leadscore serve`"
    )


if __name__ == "__main__":
    main()

"""GDPR erase: afterwards no table of the store, nor the tracking visitor store, the CRM
sync log or the enrichment caches, holds the erased contact's e-mail or id.

The contact is made the way personal data spreads in a deployment: a tracked browser
identifies itself with a form (tracking identity, events, a CRM write through the
forwarder), the API adds properties, events and an adjustment whose reason quotes the
address, an outside enricher fails and leaves a pending row naming it, and the
contact's account crosses a threshold so an account delivery lists it among its top
contacts. A colleague in the same account keeps everything of hers.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadscore.enrich import Unavailable
from leadscore.integrations.config import config_from_text
from leadscore.integrations.mount import install
from leadscore.service import create_app, load_settings
from leadscore.service.auth import create_key
from leadscore.store import tables as T

from ..integrations.fakes import FakeHubSpot
from .conftest import Api
from .helpers import SECRET

EMAIL = "erase.me@acme.example"
COLLEAGUE = "bea@acme.example"
VISITOR = "visitor-erase-0001"

MODEL = """\
name: abm
groups:
  engagement:
    rules:
      - {{name: Pricing, on: {{type: page_view, url: {{contains: /pricing}}}}, points: 10}}
      - {{name: Demo, on: {{type: form_submit}}, points: 40}}
thresholds:
  - stage: MQL
    when: {{total: {{gte: 50}}}}
default_stage: lead
triggers:
  - name: Tell sales
    on: {{enters: MQL}}
    actions: [{{webhook: {{url: "{url}"}}}}]
account:
  groups:
    team: {{rules: [{{name: Team, rollup: sum, of: engagement}}]}}
  thresholds:
    - stage: hot
      when: {{total: {{gte: 60}}}}
  default_stage: cold
  triggers:
    - name: Hot account
      on: {{enters: hot}}
      actions: [{{webhook: {{url: "{url}"}}}}]
"""


class Flaky:
    """An outside enricher that is down, and says for whom (its reason names the address)."""

    name = "flaky"

    def __init__(self) -> None:
        self.forgotten: list[Any] = []

    def enrich(self, contact):
        raise Unavailable(f"no answer for {contact.get('email')}", 60)

    def forget(self, contact):
        self.forgotten.append(contact.get("email"))


@pytest.fixture
def stack(database_url, tmp_path, monkeypatch) -> Iterator[dict[str, Any]]:
    with FakeHubSpot() as hub:
        monkeypatch.setenv("HUBSPOT_TOKEN", hub.token)
        config = config_from_text(
            f"crm:\n  hubspot: {{base_url: '{hub.url}'}}\n"
            f"tracking: {{visitor_store: '{tmp_path / 'visitors.db'}'}}\n"
        )
        settings = load_settings(
            {
                "database": database_url,
                "webhook_secret": SECRET,
                "outbox_poll_interval": 0,
                "sweep_interval": 0,
                "delivery_backoff_base": 0.0,
                "outbound_allow": "127.0.0.1",  # the local receiver
            },
            env={},
        )
        enricher = Flaky()
        app = create_app(settings, extensions=[lambda a: install(a, config)], enrichers=[enricher])
        with TestClient(app, raise_server_exceptions=False) as client:
            tokens = {}
            with app.state.service.store.write() as conn:
                for scope in ("read", "write", "admin", "track"):
                    tokens[scope] = create_key(conn, f"test-{scope}", scope)[1]
            yield {
                "api": Api(client, tokens),
                "hub": hub,
                "visitors": tmp_path / "visitors.db",
                "enricher": enricher,
            }
            app.state.integrations["forwarder"].close()
            app.state.integrations["visitors"].close()
        app.state.service.store.dispose()


def track(api: Api, **body: Any) -> str:
    body = {"v": VISITOR, "consent": True, **body}
    r = api.client.post("/t", content=json.dumps(body), headers={"Content-Type": "text/plain"})
    assert r.status_code == 202, r.text
    return r.json()["status"]


def mentions(api: Api, visitors_file, needles: list[str]) -> list[str]:
    """Every place of the store (each text or JSON column of every table in the
    metadata) and of the visitor store whose value contains one of the needles."""
    found = []
    with api.service.store.read() as conn:
        for table in T.metadata.sorted_tables:
            for col in table.columns:
                if not isinstance(col.type, sa.String | sa.Text | sa.JSON):
                    continue
                text = sa.func.lower(sa.cast(col, sa.Text))
                for needle in needles:
                    q = sa.select(sa.func.count()).where(text.contains(needle, autoescape=True))
                    if conn.execute(q.select_from(table)).scalar_one():
                        found.append(f"{table.name}.{col.name} holds {needle!r}")
    db = sqlite3.connect(visitors_file)
    try:
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            for row in db.execute(f"SELECT * FROM {name}"):
                for needle in needles:
                    if needle in json.dumps(row).lower():
                        found.append(f"visitor store {name} holds {needle!r}")
    finally:
        db.close()
    return found


def test_erase_leaves_no_trace_of_the_contact_anywhere(stack, receiver):
    api = stack["api"]
    svc = api.service
    api.publish_model(MODEL.format(url=receiver.url))
    assert api.put("/v1/accounts/acme", {"domain": "acme.example"}).status_code == 200
    # a colleague: 10 + 40 = 50, MQL
    assert api.put("/v1/contacts/bea", {"email": COLLEAGUE}).status_code == 200
    api.event("bea", "page_view", url="/pricing")
    api.event("bea", "form_submit")
    # the browser: an anonymous pricing view, then a form that gives the address
    assert track(api, t="page_view", id="hit00001", u="https://w.example/pricing") == "waiting"
    assert track(api, t="form_submit", id="hit00002", f="demo", e=EMAIL.upper()) == "identified"
    api.app.state.integrations["forwarder"].flush()
    with svc.store.read() as conn:
        cid = conn.execute(sa.select(T.contacts.c.id).where(T.contacts.c.email == EMAIL)).scalar()
    assert cid is not None
    # the API adds properties (the outside enricher fails: a pending row), an event and an
    # adjustment that quotes the address
    r = api.put(
        f"/v1/contacts/{cid}",
        {"properties": {"first_name": "Erasmus", "phone": "+33 6 12 34 56 78"}},
    )
    assert r.status_code == 200, r.text
    api.event(cid, "page_view", url="/pricing", ref=EMAIL)
    r = api.post(f"/v1/contacts/{cid}/adjustments", {"points": 5, "reason": f"{EMAIL} called"})
    assert r.status_code == 201, r.text
    assert api.deliver() >= 3
    bodies = [h["json"] for h in receiver.received]
    hot = [b for b in bodies if b["trigger"] == "Hot account"]
    assert hot and cid in [c["id"] for c in hot[0]["account"]["top_contacts"]]
    assert any(b["trigger"] == "Tell sales" and b["contact"]["id"] == cid for b in bodies)
    log = api.get("/integrations/sync-log").json()
    assert cid in [e["contact_id"] for e in log["items"]]
    needles = [EMAIL, cid.lower()]
    before = mentions(api, stack["visitors"], needles)
    # a sum roll-up names its contributors in the account's roll-up entries
    for place in ("deliveries.payload", "audit_log.detail", "enrich_pending.reason",
                  "account_rollup_entries.contact_id", "visitor store links"):  # fmt: skip
        assert any(f.startswith(place) for f in before), (place, before)

    assert api.post(f"/v1/contacts/{cid}/erase").status_code == 204

    assert mentions(api, stack["visitors"], needles) == []
    assert api.get("/integrations/sync-log", params={"contact_id": cid}).json()["items"] == []
    forget = next(f for f in svc.on_erase if hasattr(f, "syncs"))
    assert all(s.state.get("hubspot", cid) is None for s in forget.syncs)
    assert stack["enricher"].forgotten == [EMAIL]
    # the colleague and the account keep their own data
    assert api.score("bea", "abm")["total"] == 50
    account = api.get("/v1/accounts/acme").json()["scores"][0]
    assert (account["total"], account["contacts"]) == (50, 1)
    # the same browser comes back: its hits wait as an anonymous visitor's
    assert track(api, t="page_view", id="hit00003", u="https://w.example/pricing") == "waiting"
    assert track(api, t="form_submit", id="hit00004", f="newsletter") == "waiting"
    with svc.store.read() as conn:
        ids = conn.execute(sa.select(T.contacts.c.id).order_by(T.contacts.c.id)).scalars().all()
    assert ids == ["bea"]
    assert mentions(api, stack["visitors"], needles) == []


def test_the_erased_contacts_browser_does_not_bring_it_back(stack):
    api = stack["api"]
    api.publish_model(MODEL.format(url="http://127.0.0.1:9/hook"))
    assert track(api, t="form_submit", id="hit00001", f="demo", e=EMAIL) == "identified"
    assert track(api, t="page_view", id="hit00002", u="https://w.example/") == "recorded"
    with api.service.store.read() as conn:
        cid = conn.execute(sa.select(T.contacts.c.id).where(T.contacts.c.email == EMAIL)).scalar()
    assert api.post(f"/v1/contacts/{cid}/erase").status_code == 204
    # the next hits of the same browser wait, unattached, as a new visitor's would
    assert track(api, t="page_view", id="hit00003", u="https://w.example/pricing") == "waiting"
    with api.service.store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(T.contacts)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(T.events)).scalar() == 0
    # until the person gives an address again: a new contact, with only the new history
    assert track(api, t="form_submit", id="hit00004", f="demo", e=EMAIL) == "identified"
    with api.service.store.read() as conn:
        rows = conn.execute(sa.select(T.events.c.idempotency_key, T.events.c.contact_id)).all()
    assert sorted(k for k, _ in rows) == ["t:hit00003", "t:hit00004"]
    assert {c for _, c in rows} != {cid}


def test_the_sync_log_file_and_an_http_enrichers_cache_forget_a_contact(tmp_path):
    from leadscore.enrich import HttpEnricher
    from leadscore.integrations.crm import SyncLog

    log = SyncLog(tmp_path / "sync.jsonl")
    log.add("hubspot", "c1", "written", values={"leadscore_score": "60"})
    log.add("hubspot", "c2", "written")
    assert log.forget("c1") == 1
    assert [e["contact_id"] for e in log.entries()] == ["c2"]
    lines = (tmp_path / "sync.jsonl").read_text().splitlines()
    assert [json.loads(ln)["contact_id"] for ln in lines] == ["c2"]

    calls = []
    enricher = HttpEnricher(
        name="people", url="https://people.example/{email}", outputs={"company": "company"}
    )
    enricher._call = lambda url: calls.append(url) or {"company": "Acme"}
    ann, bob = {"email": "ann@acme.example"}, {"email": "bob@acme.example"}
    enricher.enrich(ann), enricher.enrich(bob), enricher.enrich(ann)
    assert len(calls) == 2  # ann's second look-up came from the cache
    enricher.forget(ann)
    assert not any("ann" in url for url in enricher._cache)
    enricher.enrich(bob)
    assert len(calls) == 2  # bob's answer is still cached


def test_delete_with_erase_true_erases_and_needs_an_admin_key(api):
    # an erase asked for as DELETE ?erase=true is an erase, not a plain delete
    api.put("/v1/contacts/c1", {"email": EMAIL})
    api.post("/v1/contacts/c1/adjustments", {"points": 5, "reason": f"{EMAIL} called"})
    assert api.delete("/v1/contacts/c1?erase=true", scope="write").status_code == 403
    assert api.get("/v1/contacts/c1").status_code == 200
    assert api.client.delete("/v1/contacts/c1?erase=true", headers=api.h()).status_code == 204
    log = api.get("/v1/audit", params={"limit": 1000}).json()["items"]
    assert "c1" not in str(log) and EMAIL not in str(log)
    actions = {e["action"] for e in log}
    assert "contact.erase" in actions and "contact.delete" not in actions

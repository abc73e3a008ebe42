"""The router mounted on the real scoring service: tracking, webhooks, CRM forwarding."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadscore.store import tables as T

from .fakes import FakeHubSpot
from .stack import build_stack


@pytest.fixture()
def stack(tmp_path):
    with FakeHubSpot() as hub:
        s = build_stack(tmp_path, hub.url, hub.token)
        with TestClient(s["app"]) as client:
            s.update(client=client, hub=hub)
            yield s
        s["forwarder"].close()
        s["service"].store.dispose()


def hit(client, **body):
    body = {"v": "visitor-0001", "consent": True, **body}
    r = client.post("/t", content=json.dumps(body), headers={"Content-Type": "text/plain"})
    assert r.status_code == 202, r.text
    return r.json()["status"]


def test_a_tracked_visitor_becomes_a_contact_with_history_crosses_mql_and_reaches_the_crm(stack):
    client, svc, hub = stack["client"], stack["service"], stack["hub"]
    assert hit(client, t="page_view", id="h0000001", u="https://w.example/") == "waiting"
    assert hit(client, t="page_view", id="h0000002", u="https://w.example/pricing") == "waiting"
    assert hit(client, t="page_view", id="h0000003", u="https://w.example/pricing") == "waiting"
    with svc.store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(T.events)).scalar() == 0
    status = hit(client, t="form_submit", id="h0000004", u="https://w.example/demo", f="demo",
                 e="Ann@Acme.example")  # fmt: skip
    assert status == "identified"
    stack["forwarder"].flush()
    with svc.store.read() as conn:
        contact = conn.execute(sa.select(T.contacts)).one()
        events = conn.execute(
            sa.select(T.events.c.type, T.events.c.idempotency_key).order_by(T.events.c.ts)
        ).all()
        score = conn.execute(sa.select(T.scores)).one()
    assert contact.email == "ann@acme.example"
    assert [tuple(e) for e in events] == [
        ("page_view", "t:h0000001"),
        ("page_view", "t:h0000002"),
        ("page_view", "t:h0000003"),
        ("form_submit", "t:h0000004"),
    ]
    # 2 pricing views x 10 + demo 40 = 60 -> MQL
    assert (score.total, score.stage) == (60.0, "MQL")
    hub_id = hub._by_email("ann@acme.example")
    assert hub.writes[hub_id] == [
        {
            "leadscore_score": "60",
            "leadscore_grade": "",
            "leadscore_stage": "MQL",
            "leadscore_reasons": "Demo request +40; Pricing page +20",
        }
    ]
    log = client.get("/integrations/sync-log").json()
    assert log["counts"] == {"hubspot.written": 1}
    assert log["items"][0]["contact_id"] == contact.id and log["items"][0]["remote_id"] == hub_id


def test_sendgrid_events_go_to_the_service_once(stack):
    client, svc = stack["client"], stack["service"]
    events = [
        {"email": "bob@acme.example", "timestamp": 1767225600, "event": "open",
         "sg_event_id": "e1", "sg_message_id": "m1"},
        {"email": "bob@acme.example", "timestamp": 1767225660, "event": "click",
         "url": "https://w.example/pricing", "sg_event_id": "e2", "sg_message_id": "m1"},
    ]  # fmt: skip
    assert client.post("/hooks/sendgrid", json=events).json() == {
        "accepted": 2,
        "duplicates": 0,
        "ignored": 0,
    }
    assert client.post("/hooks/sendgrid", json=events).json()["duplicates"] == 2
    with svc.store.read() as conn:
        rows = conn.execute(sa.select(T.events.c.type, T.events.c.attributes)).all()
    assert sorted(r.type for r in rows) == ["email_click", "email_open"]


def test_a_crm_trigger_action_payload_is_written_and_failures_raise_for_the_outbox_to_retry():
    from datetime import UTC, datetime

    from leadscore.integrations.config import HubSpotConfig
    from leadscore.integrations.crm import CrmSync
    from leadscore.integrations.crm.forward import CrmTriggerDelivery
    from leadscore.integrations.crm.hubspot import HubSpotConnector, client_for
    from leadscore.integrations.http import CrmError

    from .fakes import FakeClock

    payload = {  # the shape of the service's trigger.fired payload
        "type": "trigger.fired",
        "trigger": "Tell sales",
        "model": {"name": "web", "version": 1},
        "contact": {"id": "c_1", "email": "ann@acme.example"},
        "score": {"total": 61.0, "grade": "A", "stage": "MQL", "groups": {}, "excluded": False},
        "at": datetime(2026, 3, 1, tzinfo=UTC).isoformat(),
    }
    with FakeHubSpot() as hub:
        config = HubSpotConfig(base_url=hub.url, max_attempts=2)
        conn = HubSpotConnector(config, client_for(config, hub.token, clock=FakeClock()))
        deliver = CrmTriggerDelivery({"hubspot": CrmSync(conn)})
        hub.fail_next(503, 2)
        with pytest.raises(CrmError, match="gave up after 2 attempts"):
            deliver("hubspot", payload)
        deliver("hubspot", payload)  # the outbox's retry
        deliver("hubspot", payload)  # a duplicate delivery: nothing new to write
        assert hub.writes[hub._by_email("ann@acme.example")] == [
            {"leadscore_score": "61", "leadscore_grade": "A", "leadscore_stage": "MQL",
             "leadscore_reasons": ""}
        ]  # fmt: skip
        with pytest.raises(CrmError, match="no pipedrive connector"):
            deliver("pipedrive", payload)


def test_install_mounts_everything_on_the_service_app_from_the_config_file(tmp_path, monkeypatch):
    from leadscore.integrations import install
    from leadscore.integrations.config import ConfigError
    from leadscore.service import create_app, load_settings
    from leadscore.service.auth import create_key

    settings = load_settings(
        {"database": f"sqlite:///{tmp_path / 's.db'}", "outbox_poll_interval": 0,
         "sweep_interval": 0},
        env={},
    )  # fmt: skip
    with FakeHubSpot() as hub:
        (tmp_path / "int.yaml").write_text(
            f"crm:\n  hubspot: {{base_url: '{hub.url}'}}\n"
            "hooks:\n  web-form: {kind: form, form_id: contact}\n"
        )
        monkeypatch.setenv("LEADSCORE_INTEGRATIONS", str(tmp_path / "int.yaml"))
        monkeypatch.setenv("HUBSPOT_TOKEN", hub.token)
        app = create_app(settings, workers=False, extensions=[install])
        with TestClient(app) as client:
            assert client.get("/t.js").status_code == 200
            r = client.post("/hooks/web-form", json={"email": "x@acme.example"})
            assert r.status_code == 200 and r.json()["accepted"] == 1
            assert client.get("/integrations/sync-log").status_code == 401
            with app.state.service.store.write() as conn:
                token = create_key(conn, "reader", "read")[1]
            r = client.get("/integrations/sync-log", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200 and r.json()["items"] == []
            assert callable(app.state.integrations["crm_delivery"])
            paths = client.get("/openapi.json").json()["paths"]
            assert {"/hooks/{source}", "/t", "/integrations/sync-log"} <= set(paths)
        app.state.integrations["forwarder"].close()
        app.state.service.store.dispose()
    (tmp_path / "int.yaml").write_text("hooks:\n  x: {kind: typeform}\n")
    with pytest.raises(ConfigError, match=r"int\.yaml:2"):
        create_app(settings, workers=False, extensions=[install])

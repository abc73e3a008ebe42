"""Inbound webhooks through the router: documented payloads in, events out, bad ones refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from fastapi.testclient import TestClient

from leadscore.integrations import InMemorySink
from leadscore.integrations.config import config_from_text
from leadscore.integrations.inbound import forms, mailgun
from leadscore.integrations.router import build_router

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TS = int(NOW.timestamp())

CONFIG = """
hooks:
  sendgrid: {kind: sendgrid, verification_key_env: SG_KEY}
  mailgun: {kind: mailgun, signing_key_env: MG_KEY}
  contact-form:
    kind: form
    secret_env: FORM_SECRET
    email_field: your-email
    form_id: contact-sales
    properties: {company: company, role: job_title}
    attributes: {page: url}
  newsletter:
    kind: form
    email_field: fields.email
    form_id_field: form
"""


def sendgrid_events() -> list[dict]:
    """SendGrid's documented example events (Event Webhook reference), one per kind.

    The reference repeats the placeholder "sg_event_id" in every event; real
    deliveries carry a unique id per event, so each gets its own here.
    """
    base = {
        "email": "example@test.com",
        "timestamp": 1513299569,
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        "category": "cat facebook",
        "sg_message_id": "sg_message_id",
    }
    kinds = [
        ("processed", {}),
        ("deferred", {"response": "400 try again later", "attempt": "5"}),
        ("delivered", {"response": "250 OK"}),
        ("open", {"useragent": "Mozilla/4.0 (compatible; MSIE 6.1; Windows XP)",
                  "ip": "255.255.255.255"}),
        ("click", {"useragent": "Mozilla/4.0", "ip": "255.255.255.255",
                   "url": "http://www.sendgrid.com/"}),
        ("bounce", {"reason": "500 unknown recipient", "status": "5.0.0", "type": "bounce"}),
        ("dropped", {"reason": "Bounced Address", "status": "5.0.0"}),
        ("spamreport", {}),
        ("unsubscribe", {}),
        ("group_unsubscribe", {"asm_group_id": 10}),
        ("group_resubscribe", {"asm_group_id": 10}),
    ]  # fmt: skip
    return [
        {**base, "event": k, "sg_event_id": f"ev-{i}", **extra}
        for i, (k, extra) in enumerate(kinds)
    ]


@pytest.fixture()
def keys(monkeypatch):
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    monkeypatch.setenv("SG_KEY", base64.b64encode(der).decode())
    monkeypatch.setenv("MG_KEY", "mailgun-signing-key")
    monkeypatch.setenv("FORM_SECRET", "form-secret")
    return private


@pytest.fixture()
def app(keys):
    sink = InMemorySink()
    api = FastAPI()
    api.include_router(build_router(config_from_text(CONFIG), sink, now=lambda: NOW))
    return TestClient(api), sink


def sg_sign(private, body: bytes, ts: int = TS) -> dict[str, str]:
    sig = private.sign(str(ts).encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "Content-Type": "application/json",
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(sig).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": str(ts),
    }


def test_sendgrid_documented_events_map_to_leadscore_events(app, keys):
    client, sink = app
    body = json.dumps(sendgrid_events()).encode()
    r = client.post("/hooks/sendgrid", content=body, headers=sg_sign(keys, body))
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 10, "duplicates": 0, "ignored": 1}  # deferred is ignored
    types = [e.type for e in sink.events]
    assert types == [
        "email_sent", "email_delivered", "email_open", "email_click", "email_bounce",
        "email_dropped", "spam_report", "unsubscribe", "unsubscribe", "resubscribe",
    ]  # fmt: skip
    click = sink.events[3]
    assert click.email == "example@test.com" and click.event_id == "sendgrid:ev-4"
    assert click.ts == datetime(2017, 12, 15, 0, 59, 29, tzinfo=UTC)  # 1513299569
    assert click.attributes["url"] == "http://www.sendgrid.com/"
    assert click.attributes["campaign"] == "cat facebook"
    assert sink.events[4].attributes["reason"] == "500 unknown recipient"
    # a redelivery is counted as duplicates, nothing stored twice
    r = client.post("/hooks/sendgrid", content=body, headers=sg_sign(keys, body))
    assert r.json()["duplicates"] == 10 and len(sink.events) == 10


@pytest.mark.parametrize(
    "case, status",
    [
        ("unsigned", 401),
        ("tampered", 401),
        ("other-key", 401),
        ("stale", 401),
        ("not-json", 400),
        ("not-array", 400),
        ("no-email", 400),
    ],
)
def test_sendgrid_bad_deliveries_are_refused_and_nothing_is_stored(app, keys, case, status):
    client, sink = app
    events = sendgrid_events()
    body = json.dumps(events).encode()
    headers = sg_sign(keys, body)
    if case == "unsigned":
        headers = {"Content-Type": "application/json"}
    elif case == "tampered":
        body = body.replace(b"example@test.com", b"attacker@test.com")
    elif case == "other-key":
        headers = sg_sign(ec.generate_private_key(ec.SECP256R1()), body)
    elif case == "stale":
        headers = sg_sign(keys, body, ts=TS - 3600)
    elif case == "not-json":
        body = b"[{not json"
        headers = sg_sign(keys, body)
    elif case == "not-array":
        body = json.dumps(events[0]).encode()
        headers = sg_sign(keys, body)
    elif case == "no-email":
        events[5].pop("email")
        body = json.dumps(events).encode()
        headers = sg_sign(keys, body)
    r = client.post("/hooks/sendgrid", content=body, headers=headers)
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"].startswith("sendgrid:")
    if case == "no-email":
        assert "event [5] has no email" in r.json()["detail"]
    assert sink.events == []


def test_sendgrid_without_a_configured_key_says_which_variable_to_set(app, monkeypatch):
    client, sink = app
    monkeypatch.delenv("SG_KEY")
    r = client.post("/hooks/sendgrid", json=sendgrid_events())
    assert r.status_code == 503 and "SG_KEY" in r.json()["detail"] and sink.events == []


def mailgun_body(event: dict, key: str = "mailgun-signing-key", ts: str = str(TS)) -> bytes:
    token = "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
    return json.dumps(
        {
            "signature": {
                "timestamp": ts,
                "token": token,
                "signature": mailgun.sign(key, ts, token),
            },
            "event-data": event,
        }
    ).encode()


def mailgun_event(kind: str, **extra) -> dict:
    """Shaped after Mailgun's documented webhook sample (event-data)."""
    return {
        "event": kind,
        "timestamp": 1529006854.329574,
        "id": f"DACSsAdVSeGpLid7TN03WA-{kind}",
        "recipient": "alice@example.com",
        "tags": ["my_tag_1", "my_tag_2"],
        "message": {"headers": {"message-id": "20130503182626.18666.16540@sandbox.mailgun.org"}},
        **extra,
    }


def test_mailgun_events_map_with_bounces_only_when_permanent(app):
    client, sink = app
    cases = [
        mailgun_event("opened"),
        mailgun_event("clicked", url="https://example.com/pricing"),
        mailgun_event("failed", severity="permanent", reason="bounce",
                      **{"delivery-status": {"code": 550}}),
        mailgun_event("failed", severity="temporary", reason="generic"),
        mailgun_event("unsubscribed"),
    ]  # fmt: skip
    answers = [
        client.post(
            "/hooks/mailgun", content=mailgun_body(e), headers={"Content-Type": "application/json"}
        ).json()
        for e in cases
    ]
    assert [a["accepted"] for a in answers] == [1, 1, 1, 0, 1] and answers[3]["ignored"] == 1
    assert [e.type for e in sink.events] == [
        "email_open",
        "email_click",
        "email_bounce",
        "unsubscribe",
    ]
    bounce = sink.events[2]
    assert bounce.attributes == {
        "email_id": "20130503182626.18666.16540@sandbox.mailgun.org",
        "campaign": "my_tag_1,my_tag_2",
        "reason": "bounce",
        "severity": "permanent",
        "status": 550,
    }
    assert sink.events[0].ts == datetime.fromtimestamp(1529006854.329574, tz=UTC)
    assert sink.events[1].attributes["url"] == "https://example.com/pricing"


@pytest.mark.parametrize(
    "body, status",
    [
        (mailgun_body(mailgun_event("opened"), key="wrong-key"), 401),
        (mailgun_body(mailgun_event("opened"), ts=str(TS - 7200)), 401),
        (json.dumps({"event-data": mailgun_event("opened")}).encode(), 401),
        (mailgun_body({"event": "opened"}), 400),
        (b"signature=x&token=y", 400),
    ],
    ids=["bad-signature", "stale", "unsigned", "no-recipient", "not-json"],
)
def test_mailgun_bad_deliveries_are_refused(app, body, status):
    client, sink = app
    r = client.post("/hooks/mailgun", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == status and sink.events == []


def test_a_signed_form_post_creates_a_contact_and_a_form_submit(app):
    client, sink = app
    body = urlencode(
        {"your-email": " Ann@Acme.Example ", "company": "Acme", "role": "CTO", "page": "/demo"}
    ).encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Leadscore-Signature": forms.sign("form-secret", body),
    }
    r = client.post("/hooks/contact-form", content=body, headers=headers)
    assert r.status_code == 200 and r.json()["accepted"] == 1
    (ev,) = sink.events
    assert (ev.type, ev.email, ev.ts) == ("form_submit", "ann@acme.example", NOW)
    assert ev.attributes == {"form_id": "contact-sales", "url": "/demo"}
    assert sink.contacts["email:ann@acme.example"].properties == {
        "company": "Acme",
        "job_title": "CTO",
    }
    # the same submission posted twice counts once
    assert client.post("/hooks/contact-form", content=body, headers=headers).json() == {
        "accepted": 0,
        "duplicates": 1,
        "ignored": 0,
    }


def test_unsigned_or_unmappable_forms_are_refused(app):
    client, sink = app
    body = urlencode({"your-email": "ann@acme.example"}).encode()
    r = client.post(
        "/hooks/contact-form",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 401 and "X-Leadscore-Signature" in r.json()["detail"]
    r = client.post("/hooks/newsletter", json={"fields": {"email": "not an address"}})
    assert r.status_code == 422 and "fields.email" in r.json()["detail"]
    r = client.post("/hooks/newsletter", content=b"<xml/>", headers={"Content-Type": "text/xml"})
    assert r.status_code == 415
    assert sink.events == [] and sink.contacts == {}


def test_json_form_with_nested_fields_and_form_id_from_the_payload(app):
    client, sink = app
    r = client.post("/hooks/newsletter", json={"form": "nl-2026", "fields": {"email": "b@x.io"}})
    assert r.status_code == 200
    assert sink.events[0].attributes == {"form_id": "nl-2026"}


def test_unknown_source_and_oversized_bodies(app):
    client, sink = app
    r = client.post("/hooks/zapier", json={})
    assert (
        r.status_code == 404
        and "configured: contact-form, mailgun, newsletter, sendgrid" in (r.json()["detail"])
    )
    r = client.post("/hooks/newsletter", content=b"x" * 1_000_001)
    assert r.status_code == 413 and sink.events == []

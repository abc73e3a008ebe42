"""Triggers: once per crossing, again after a re-crossing, hysteresis, outbox delivery.

Contact c1 has country FR (20 points); a form submit adds 30, so one submit puts
it at 50 = MQL. Negative manual adjustments take it back below.
"""

from __future__ import annotations

import json

from leadscore.actions.webhook import verify

from .conftest import make_api
from .helpers import SECRET, SmtpSink, model_yaml


def _mql(api) -> None:
    api.put("/v1/contacts/c1", {"email": "ann@acme.example", "properties": {"country": "FR"}})
    api.event("c1", "form_submit")


def test_fires_once_per_crossing_and_again_after_falling_back(api, receiver):
    api.publish_model(model_yaml(receiver.url))
    _mql(api)
    api.event("c1", "page_view", url="/pricing")  # 60, still MQL: no new crossing
    assert api.deliver() == 1
    assert api.deliver() == 0
    assert receiver.keys() == ["demo:Tell sales:c1:1:0"]
    hit = receiver.received[0]
    assert hit["json"]["contact"] == {"id": "c1", "email": "ann@acme.example"}
    assert hit["json"]["score"]["stage"] == "MQL" and hit["json"]["crossing"] == 1
    h = hit["headers"]
    assert verify(SECRET, hit["body"], h["Leadscore-Signature"], h["Leadscore-Timestamp"])
    assert not verify("wrong", hit["body"], h["Leadscore-Signature"], h["Leadscore-Timestamp"])
    # Fall back below 50, then cross again: a second crossing, a second delivery.
    api.post("/v1/contacts/c1/adjustments", {"points": -20, "reason": "cooling"})
    assert api.score("c1")["stage"] == "lead"
    api.event("c1", "page_view", url="/pricing")
    assert api.score("c1")["stage"] == "MQL"
    api.deliver()
    assert receiver.keys() == ["demo:Tell sales:c1:1:0", "demo:Tell sales:c1:2:0"]
    deliveries = api.get("/v1/deliveries", params={"status": "delivered"}).json()
    assert [d["crossing"] for d in deliveries["items"]] == [1, 2]
    trig = api.get("/v1/triggers").json()["items"][0]
    assert trig["name"] == "Tell sales" and trig["deliveries"]["delivered"] == 2


def test_hysteresis_band_stops_flapping(database_url, receiver):
    for api in make_api(database_url):
        api.publish_model(model_yaml(receiver.url), hysteresis={"Tell sales": 15})
        _mql(api)  # 50: fires, disarms
        api.post("/v1/contacts/c1/adjustments", {"points": -5, "reason": "dip"})  # 45
        api.post("/v1/contacts/c1/adjustments", {"points": 5, "reason": "back"})  # 50
        api.deliver()
        assert len(receiver.keys()) == 1  # 45 + 15 >= 50: never re-armed
        api.post("/v1/contacts/c1/adjustments", {"points": -20, "reason": "drop"})  # 30
        api.post("/v1/contacts/c1/adjustments", {"points": 20, "reason": "up"})  # 50
        api.deliver()
        assert receiver.keys() == ["demo:Tell sales:c1:1:0", "demo:Tell sales:c1:2:0"]
        assert api.get("/v1/triggers").json()["items"][0]["hysteresis"] == 15


def test_leaves_trigger(database_url, receiver):
    yaml = model_yaml(receiver.url, **{"enters: MQL": "leaves: MQL"})
    for api in make_api(database_url):
        api.publish_model(yaml)
        api.put("/v1/contacts/c1", {"properties": {"country": "FR"}})  # lead: never in MQL
        api.deliver()
        assert receiver.keys() == []
        api.event("c1", "form_submit")  # MQL
        api.post("/v1/contacts/c1/adjustments", {"points": -10, "reason": "x"})  # leaves
        api.deliver()
        assert receiver.keys() == ["demo:Tell sales:c1:1:0"]
        assert receiver.received[0]["json"]["on"] == {"leaves": "MQL"}


def test_publish_records_stage_changes_without_firing_unless_asked(api, receiver):
    api.publish_model(model_yaml(receiver.url))
    api.put("/v1/contacts/c1", {"properties": {"country": "FR"}})
    api.event("c1", "page_view", url="/pricing")  # 30
    api.put("/v1/contacts/c2", {"properties": {"country": "FR"}})
    api.event("c2", "page_view", url="/pricing")
    # v2 gives 40 per pricing view: both contacts reach 60 = MQL.
    r = api.post("/v1/models", {"yaml": model_yaml(receiver.url, **{"points: 10": "points: 40"})})
    assert r.json()["version"] == 2
    out = api.post("/v1/models/demo/versions/2/publish", {}).json()
    assert (out["rescored"], out["stage_changes"], out["triggers_fired"]) == (2, 2, False)
    api.deliver()
    assert receiver.keys() == []
    hist = api.get("/v1/contacts/c1/history").json()["items"][-1]
    assert (hist["cause"], hist["old_stage"], hist["new_stage"]) == ("publish", "lead", "MQL")
    # Already in MQL when the publish happened: a later event does not fire either.
    api.event("c1", "form_submit")
    api.deliver()
    assert receiver.keys() == []
    # Rolling back to v1 takes c2 back to lead (30); c1 stays MQL (20 + 10 + 30).
    api.post("/v1/models/demo/rollback", {"version": 1})
    assert (api.score("c1")["stage"], api.score("c2")["stage"]) == ("MQL", "lead")
    # Publishing v2 again, asking for triggers: c2 crosses again and this time it fires.
    # Its silent crossing of the first publish counted as crossing 1.
    api.post("/v1/models/demo/versions/2/publish", {"fire_triggers": True})
    api.deliver()
    assert receiver.keys() == ["demo:Tell sales:c2:2:0"]


def test_dead_letter_and_retry(database_url, receiver):
    for api in make_api(database_url, delivery_max_attempts=2):
        receiver.status = 500
        api.publish_model(model_yaml(receiver.url))
        _mql(api)
        api.deliver()
        (d,) = api.get("/v1/deliveries").json()["items"]
        assert (d["status"], d["attempts"]) == ("pending", 1)
        assert "HTTP 500" in d["last_error"]
        api.deliver()
        (d,) = api.get("/v1/deliveries", params={"status": "dead"}).json()["items"]
        assert d["attempts"] == 2
        receiver.status = 200
        assert api.post(f"/v1/deliveries/{d['id']}/retry", scope="write").status_code == 403
        r = api.post(f"/v1/deliveries/{d['id']}/retry")
        assert r.json()["status"] == "pending"
        api.deliver()
        (d,) = api.get("/v1/deliveries").json()["items"]
        assert d["status"] == "delivered"
        assert len(set(receiver.keys())) == 1 and len(receiver.keys()) == 3
        assert api.post(f"/v1/deliveries/{d['id']}/retry").status_code == 409


def test_email_action_over_smtp(database_url):
    sink = SmtpSink()
    email = "- email: {to: [sales@acme.example], subject: New MQL}"
    yaml = model_yaml(**{'- webhook: {url: "http://127.0.0.1:9/hook"}': email})
    try:
        for api in make_api(database_url, smtp_host="127.0.0.1", smtp_port=sink.port):
            api.publish_model(yaml)
            _mql(api)
            api.deliver()
            (d,) = api.get("/v1/deliveries").json()["items"]
            assert d["status"] == "delivered", d
            (msg,) = sink.messages
            assert "Subject: New MQL" in msg and "To: sales@acme.example" in msg
            assert "Contact: c1 <ann@acme.example>" in msg
    finally:
        sink.close()


def test_payload_is_what_was_signed(api, receiver):
    api.publish_model(model_yaml(receiver.url))
    _mql(api)
    api.deliver()
    body = receiver.received[0]["body"]
    assert json.loads(body)["delivery"] == "demo:Tell sales:c1:1:0"


def test_hysteresis_names_a_declared_trigger(api):
    r = api.post("/v1/models", {"yaml": model_yaml(), "hysteresis": {"Tell sale": 5}})
    assert r.status_code == 422 and "Tell sale" in r.json()["detail"]


def test_sweep_fires_a_trigger_when_time_moves_a_contact(api, receiver):
    from datetime import UTC, datetime, timedelta

    # Leaving MQL is what time does here: the demo request counts for 7 days only.
    yaml = model_yaml(receiver.url, **{"enters: MQL": "leaves: MQL"}).replace(
        "points: 30", "points: 30\n        within: 7d"
    )
    api.publish_model(yaml)
    now = datetime.now(UTC)
    api.put("/v1/contacts/c1", {"properties": {"country": "FR"}})
    api.event("c1", "form_submit", ts=(now - timedelta(days=6)).isoformat())
    assert api.score("c1")["stage"] == "MQL"
    api.service.sweep(now=now + timedelta(days=2))
    assert api.score("c1")["stage"] == "lead"
    api.deliver()
    assert receiver.keys() == ["demo:Tell sales:c1:1:0"]

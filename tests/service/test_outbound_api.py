"""The service's webhook policy: refused targets, classified delivery errors, unsigned hooks."""

from __future__ import annotations

import socket

import pytest
import sqlalchemy as sa

from leadscore.service.settings import load_settings
from leadscore.service.webhooks import serve_warnings
from leadscore.store import tables as T

from .conftest import make_api
from .helpers import Receiver, model_yaml


@pytest.fixture
def attempts(monkeypatch) -> list:
    seen: list = []
    real = socket.create_connection

    def record(address, *args, **kwargs):
        seen.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", record)
    return seen


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest/", "http://127.0.0.1:22/", "http://[::1]/hook"]
)
def test_internal_webhooks_are_refused_at_validate_and_draft_by_default(database_url, url):
    for api in make_api(database_url, outbound_allow=""):
        r = api.post("/v1/models/validate", {"yaml": model_yaml(url)}, scope="read")
        assert r.status_code == 200
        body = r.json()
        assert body["valid"] is False
        (problem,) = body["problems"]
        assert problem["line"] == 28 and "outbound_allow" in problem["hint"]
        assert "may not reach" in problem["message"]
        r = api.post("/v1/models", {"yaml": model_yaml(url)})
        assert r.status_code == 422, r.text


def test_the_allow_list_lets_the_service_reach_an_internal_receiver(database_url, receiver):
    for api in make_api(database_url, outbound_allow="127.0.0.0/8"):
        api.publish_model(model_yaml(receiver.url))
        api.put("/v1/contacts/c1", {"properties": {"country": "FR"}})
        api.event("c1", "form_submit")
        assert api.deliver() == 1
        assert len(receiver.received) == 1


def test_publish_rechecks_when_the_allow_list_was_removed(tmp_path, receiver):
    db = f"sqlite:///{tmp_path / 'store.db'}"
    for api in make_api(db):
        r = api.post("/v1/models", {"yaml": model_yaml(receiver.url)})
        assert r.status_code == 201
    for api in make_api(db, outbound_allow=""):
        r = api.post("/v1/models/demo/versions/1/publish", {"fire_triggers": False})
        assert r.status_code == 422 and "may not reach" in r.text


def test_a_stored_target_refused_by_the_policy_is_dead_without_a_connection(
    tmp_path, receiver, attempts
):
    db = f"sqlite:///{tmp_path / 'store.db'}"
    for api in make_api(db, outbound_allow=""):
        api.publish_model(model_yaml("https://crm.example/hooks/mql"))
        api.put("/v1/contacts/c1", {"properties": {"country": "FR"}})
        api.event("c1", "form_submit")
        with api.service.store.write() as conn:  # e.g. written before the policy existed
            conn.execute(sa.update(T.deliveries).values(target="http://169.254.169.254/"))
        attempts.clear()
        api.deliver()
        (d,) = api.get("/v1/deliveries").json()["items"]
        assert (d["status"], d["last_reason"], d["attempts"]) == ("dead", "blocked", 1)
        assert attempts == []  # the test client and SQLite open no TCP connection either


def test_deliveries_show_a_status_and_a_reason_not_the_receivers_answer(database_url):
    receiver = Receiver()
    receiver.status = 503
    try:
        for api in make_api(database_url):
            api.publish_model(model_yaml(receiver.url))
            api.put("/v1/contacts/c1", {"properties": {"country": "FR"}})
            api.event("c1", "form_submit")
            api.deliver()
            (d,) = api.get("/v1/deliveries").json()["items"]
            assert d["status"] == "pending" and d["last_status"] == 503
            assert d["last_reason"] == "http_5xx"
            assert d["last_error"] == "http_5xx: the receiver answered HTTP 503 (a server error)"
    finally:
        receiver.close()


def test_a_closed_port_is_reported_as_refused_without_the_socket_error(database_url):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for api in make_api(database_url):
        api.publish_model(model_yaml(f"http://127.0.0.1:{port}/hook"))
        api.put("/v1/contacts/c1", {"properties": {"country": "FR"}})
        api.event("c1", "form_submit")
        api.deliver()
        (d,) = api.get("/v1/deliveries").json()["items"]
        assert d["last_error"] == "refused: the receiver refused the connection"
        assert "Errno" not in d["last_error"]


def test_old_raw_errors_are_withheld(database_url, receiver):
    for api in make_api(database_url):
        api.publish_model(model_yaml(receiver.url))
        api.put("/v1/contacts/c1", {"properties": {"country": "FR"}})
        api.event("c1", "form_submit")
        with api.service.store.write() as conn:
            conn.execute(
                sa.update(T.deliveries).values(
                    last_error="ConnectError: [Errno 111] Connection refused"
                )
            )
        (d,) = api.get("/v1/deliveries").json()["items"]
        assert "Errno" not in d["last_error"] and d["last_reason"] == "error"


def test_unsigned_webhooks_are_announced_and_marked(database_url, receiver):
    for api in make_api(database_url, webhook_secret=""):
        body = api.post("/v1/models/validate", {"yaml": model_yaml(receiver.url)}).json()
        assert body["valid"] and "unsigned" in body["warnings"][0]["message"]
        published = api.publish_model(model_yaml(receiver.url))
        assert published["warnings"] and "webhook_secret" in published["warnings"][0]["hint"]
        api.put("/v1/contacts/c1", {"properties": {"country": "FR"}})
        api.event("c1", "form_submit")
        api.deliver()
        (got,) = receiver.received
        assert got["headers"]["Leadscore-Unsigned"] == "true"
        assert "Leadscore-Signature" not in got["headers"]


def test_signed_webhooks_raise_no_warning(database_url, receiver):
    for api in make_api(database_url):  # the suite's webhook_secret is set
        body = api.post("/v1/models/validate", {"yaml": model_yaml(receiver.url)}).json()
        assert body["warnings"] == []


def test_serve_warns_loudly_when_webhooks_go_unsigned():
    lines = serve_warnings(load_settings({}, env={}))
    assert any("UNSIGNED" in line and "LEADSCORE_WEBHOOK_SECRET" in line for line in lines)
    assert serve_warnings(load_settings({"webhook_secret": "x"}, env={})) == []

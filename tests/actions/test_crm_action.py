"""``crm`` trigger actions: delivered through the integrations' CRM connector.

The model of the service suite: country FR 20 + a form submit 30 = 50 = MQL,
grade A (fit 20). The fake HubSpot server of the integrations tests stands in
for HubSpot.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from leadscore.integrations.config import config_from_text
from leadscore.integrations.mount import install
from leadscore.service import create_app, load_settings
from leadscore.service.auth import create_key

from ..integrations.fakes import FakeHubSpot
from ..service.conftest import Api
from ..service.helpers import model_yaml

CRM = model_yaml(**{'- webhook: {url: "http://127.0.0.1:9/hook"}': "- crm: {system: hubspot}"})


@pytest.fixture
def hub(monkeypatch) -> Iterator[FakeHubSpot]:
    with FakeHubSpot() as h:
        monkeypatch.setenv("HUBSPOT_TOKEN", h.token)
        yield h


def _api(tmp_path, extensions: list[Any], **overrides: Any) -> Iterator[Api]:
    settings = load_settings(
        {
            "database": f"sqlite:///{tmp_path / 'store.db'}",
            "outbox_poll_interval": 0,
            "sweep_interval": 0,
            "delivery_backoff_base": 0.0,
            **overrides,
        },
        env={},
    )
    app = create_app(settings, extensions=extensions)
    with TestClient(app, raise_server_exceptions=False) as client:
        with app.state.service.store.write() as conn:
            tokens = {"admin": create_key(conn, "test", "admin")[1]}
        yield Api(client, tokens)
    app.state.service.store.dispose()


def _mql(api: Api) -> None:
    api.publish_model(CRM)
    api.put("/v1/contacts/c1", {"email": "ann@acme.example", "properties": {"country": "FR"}})
    api.event("c1", "form_submit")


def test_a_crm_action_writes_the_score_to_hubspot(tmp_path, hub):
    hub_id = hub.add_contact(email="ann@acme.example", firstname="Ann")
    config = config_from_text(f"crm:\n  hubspot: {{base_url: '{hub.url}'}}\n")
    for api in _api(tmp_path, [lambda app: install(app, config)]):
        _mql(api)
        assert api.deliver() == 1
        (d,) = api.get("/v1/deliveries").json()["items"]
        assert (d["kind"], d["target"], d["status"]) == ("crm", "hubspot", "delivered"), d
        assert hub.writes[hub_id] == [
            {
                "leadscore_score": "50",
                "leadscore_grade": "A",
                "leadscore_stage": "MQL",
                "leadscore_reasons": "Demo request +30; Target country +20",
            }
        ]


def test_a_crm_error_is_retried_then_delivered(tmp_path, hub):
    hub_id = hub.add_contact(email="ann@acme.example")
    config = config_from_text(f"crm:\n  hubspot: {{base_url: '{hub.url}'}}\n")
    for api in _api(tmp_path, [lambda app: install(app, config)]):
        hub.fail_next(401)  # refused token: the connector gives up, the outbox retries
        _mql(api)
        api.deliver()
        (d,) = api.get("/v1/deliveries").json()["items"]
        assert (d["status"], d["attempts"]) == ("pending", 1)
        assert d["last_error"]
        api.deliver()
        (d,) = api.get("/v1/deliveries").json()["items"]
        assert (d["status"], d["attempts"]) == ("delivered", 2)
        assert len(hub.writes[hub_id]) == 1


def test_without_integrations_a_crm_action_is_dead_with_the_fix(tmp_path):
    for api in _api(tmp_path, []):
        _mql(api)
        api.deliver()
        (d,) = api.get("/v1/deliveries").json()["items"]
        assert (d["status"], d["attempts"]) == ("dead", 1)
        assert "integrations" in d["last_error"] and "LEADSCORE_INTEGRATIONS" in d["last_error"]


def test_a_crm_system_missing_from_the_config_is_reported(tmp_path, hub):
    yaml = CRM.replace("system: hubspot", "system: pipedrive")
    config = config_from_text(f"crm:\n  hubspot: {{base_url: '{hub.url}'}}\n")
    for api in _api(tmp_path, [lambda app: install(app, config)], delivery_max_attempts=1):
        api.publish_model(yaml)
        api.put("/v1/contacts/c1", {"email": "ann@acme.example", "properties": {"country": "FR"}})
        api.event("c1", "form_submit")
        api.deliver()
        (d,) = api.get("/v1/deliveries").json()["items"]
        assert d["status"] == "dead"
        assert "add crm.pipedrive to the integrations config" in d["last_error"]

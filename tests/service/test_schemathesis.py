"""Property-based API test: inputs generated from the OpenAPI document never get a 5xx.

Every operation is called with generated path, query and body values, with an
admin key, against a store holding a published model and a contact. Any answer
below 500 is fine; errors must be problem+json.
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from leadscore.service import create_app, load_settings
from leadscore.service.auth import create_key
from leadscore.service.versions import create_draft, publish

from .helpers import model_yaml

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    db = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    app = create_app(
        load_settings(
            {"database": f"sqlite:///{db}", "outbox_poll_interval": 0, "sweep_interval": 0}, env={}
        )
    )
    svc = app.state.service
    with svc.store.write() as conn:
        token = create_key(conn, "fuzz", "admin")[1]
    draft = create_draft(svc, model_yaml(), {}, "fuzz")
    publish(svc, draft["name"], draft["version"], "fuzz", fire_triggers=False)
    with TestClient(app) as client:
        client.put(
            "/v1/contacts/c1",
            json={"properties": {"country": "FR"}},
            headers={"Authorization": f"Bearer {token}"},
        )
        yield app, token
    svc.store.dispose()


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(scope="module")
def api_schema(served):
    app, _ = served
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_server_error_on_generated_input(case, served):
    _, token = served
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    assert response.status_code < 500, (case.method, case.formatted_path, response.text)
    if response.status_code >= 400:
        ctype = response.headers.get("content-type")
        ctype = ctype[0] if isinstance(ctype, list) else ctype
        assert ctype == "application/problem+json", (case.method, case.formatted_path)

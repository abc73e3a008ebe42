"""One error shape on every route, and what each key scope may do."""

from __future__ import annotations

import re

import pytest

from .helpers import model_yaml

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}
SAMPLE_PARAMS = {
    "contact_id": "no-such-contact",
    "account_id": "no-such-account",
    "name": "no-such-model",
    "version": "999",
    "delivery_id": "999",
    "key_id": "999",
}


def _routes(app):
    """Every (method, path) of the API, read from its OpenAPI document."""
    for path, ops in sorted(app.openapi()["paths"].items()):
        if path.startswith("/v1"):
            for method in sorted(ops):
                yield method.upper(), path


def _fill(path: str, params: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], path)


def _assert_problem(r, status: int) -> None:
    assert r.status_code == status, (r.request.method, r.request.url, r.text)
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert set(body) >= PROBLEM_KEYS
    assert body["status"] == status and body["detail"]
    assert "Traceback" not in r.text


def test_every_route_answers_problems(api):
    """Without a key: 401. With a key: unknown things 404, or a malformed body 422."""
    routes = list(_routes(api.app))
    assert len(routes) >= 25
    for method, path in routes:
        url = _fill(path, SAMPLE_PARAMS)
        _assert_problem(api.client.request(method, url), 401)
        r = api.client.request(
            method,
            url,
            headers=api.h("admin"),
            content=b"{not json",
            params={"from": "1", "to": "2"},
        )
        if method in ("POST", "PUT") and not path.endswith(
            ("/retry", "/publish", "/unpublish", "/erase", "/sweep")
        ):
            _assert_problem(r, 422)
            assert r.json()["errors"][0]["location"]
        elif r.status_code != 200:
            assert r.status_code in (404, 409, 422), (method, url, r.text)
            _assert_problem(r, r.status_code)


def test_unknown_route_and_method(api):
    _assert_problem(api.client.get("/v1/nothing-here"), 404)
    _assert_problem(api.client.patch("/health"), 405)


def test_validation_problem_names_the_field(api):
    r = api.post("/v1/events", {"contact_id": "c", "type": "", "ts": "not a time"})
    _assert_problem(r, 422)
    locations = {e["location"] for e in r.json()["errors"]}
    assert {"body.type", "body.ts"} <= locations
    r = api.get("/v1/contacts", params={"limit": 0})
    _assert_problem(r, 422)
    assert r.json()["errors"][0]["location"] == "query.limit"


@pytest.mark.parametrize(
    ("scope", "allowed"),
    [
        ("read", {"list", "validate"}),
        ("track", {"event"}),
        ("write", {"list", "validate", "event", "contact", "adjust"}),
        ("admin", {"list", "validate", "event", "contact", "adjust", "draft", "keys", "audit"}),
    ],
)
def test_scopes(api, scope, allowed):
    api.publish_model(model_yaml())
    api.put("/v1/contacts/c1", {})
    calls = {
        "list": lambda: api.get("/v1/contacts", scope=scope),
        "validate": lambda: api.post("/v1/models/validate", {"yaml": model_yaml()}, scope=scope),
        "event": lambda: api.post("/v1/events", {"contact_id": "c1", "type": "x"}, scope=scope),
        "contact": lambda: api.put("/v1/contacts/c2", {}, scope=scope),
        "adjust": lambda: api.post(
            "/v1/contacts/c1/adjustments", {"points": 1, "reason": "r"}, scope=scope
        ),
        "draft": lambda: api.post("/v1/models", {"yaml": model_yaml()}, scope=scope),
        "keys": lambda: api.get("/v1/keys", scope=scope),
        "audit": lambda: api.get("/v1/audit", scope=scope),
    }
    for name, call in calls.items():
        r = call()
        if name in allowed:
            assert r.status_code < 300, (scope, name, r.text)
        else:
            _assert_problem(r, 403)


def test_keys_are_hashed_created_and_revoked(api):
    r = api.post("/v1/keys", {"name": "crm sync", "scope": "write"})
    assert r.status_code == 201
    token, key_id = r.json()["token"], r.json()["id"]
    headers = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/v1/contacts", headers=headers).status_code == 200
    with api.service.store.read() as conn:
        from sqlalchemy import text

        stored = conn.execute(
            text("SELECT hash FROM api_keys WHERE id = :i"), {"i": key_id}
        ).scalar_one()
    assert token not in stored and len(stored) == 64
    listed = api.get("/v1/keys").json()["items"]
    assert all("token" not in k and "hash" not in k for k in listed)
    assert api.delete(f"/v1/keys/{key_id}").status_code == 204
    _assert_problem(api.client.get("/v1/contacts", headers=headers), 401)
    actions = [e["action"] for e in api.get("/v1/audit").json()["items"]]
    assert "key.revoke" in actions and "key.create" in actions


def test_openapi_document(api):
    r = api.client.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert "/v1/events/batch" in paths and "/v1/models/{name}/rollback" in paths
    assert api.client.get("/docs").status_code == 200

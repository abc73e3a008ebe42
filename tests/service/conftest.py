"""Fixtures of the API suite: every test runs on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from leadscore.service import Service, create_app, load_settings
from leadscore.service.auth import create_key

from .helpers import SECRET, Receiver, postgres_database, postgres_schema


@pytest.fixture(scope="module")
def pg_database(request: pytest.FixtureRequest) -> str:
    server = request.getfixturevalue("postgres_url")
    return postgres_database(server, "service")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return postgres_schema(request.getfixturevalue("pg_database"))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


class Api:
    """A test client with one key per scope and helpers for the common calls."""

    def __init__(self, client: TestClient, tokens: dict[str, str]):
        self.client, self.tokens = client, tokens
        self.app = client.app
        self.service: Service = client.app.state.service

    def h(self, scope: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[scope]}"}

    def get(self, path: str, scope: str = "admin", **kw: Any):
        return self.client.get(path, headers=self.h(scope), **kw)

    def post(self, path: str, json: Any = None, scope: str = "admin", **kw: Any):
        return self.client.post(
            path, json=json, headers={**self.h(scope), **kw.pop("headers", {})}, **kw
        )

    def put(self, path: str, json: Any = None, scope: str = "admin"):
        return self.client.put(path, json=json, headers=self.h(scope))

    def delete(self, path: str, scope: str = "admin"):
        return self.client.delete(path, headers=self.h(scope))

    def publish_model(self, yaml: str, *, fire: bool = False, **extra: Any) -> dict[str, Any]:
        r = self.post("/v1/models", {"yaml": yaml, **extra})
        assert r.status_code == 201, r.text
        v = r.json()
        r = self.post(
            f"/v1/models/{v['name']}/versions/{v['version']}/publish", {"fire_triggers": fire}
        )
        assert r.status_code == 200, r.text
        return r.json()

    def event(self, contact: str, type_: str, **attrs: Any) -> dict[str, Any]:
        key = attrs.pop("key", None)
        ts = attrs.pop("ts", "2026-01-01T00:00:00Z")
        r = self.post(
            "/v1/events",
            {
                "contact_id": contact,
                "type": type_,
                "ts": ts,
                "attributes": attrs,
                "idempotency_key": key,
            },
        )
        assert r.status_code == 202, r.text
        return r.json()

    def deliver(self) -> int:
        return self.app.state.outbox.run_once()

    def score(self, contact: str, model: str = "demo") -> dict[str, Any]:
        r = self.get(f"/v1/contacts/{contact}/scores")
        assert r.status_code == 200, r.text
        return next(s for s in r.json()["scores"] if s["model"] == model)


def make_api(
    database_url: str, *, enrichers: Any = (), enrichers_file: str = "", **overrides: Any
) -> Iterator[Api]:
    settings = load_settings(
        {
            "enrichers": enrichers_file,
            "database": database_url,
            "webhook_secret": SECRET,
            "outbox_poll_interval": 0,
            "sweep_interval": 0,
            "delivery_backoff_base": 0.0,
            "outbound_allow": "127.0.0.1",  # the local Receiver; the default refuses it
            **overrides,
        },
        env={},
    )
    app = create_app(settings, enrichers=enrichers)
    with TestClient(app, raise_server_exceptions=False) as client:
        tokens = {}
        with app.state.service.store.write() as conn:
            for scope in ("read", "write", "admin", "track"):
                tokens[scope] = create_key(conn, f"test-{scope}", scope)[1]
        yield Api(client, tokens)
    app.state.service.store.dispose()


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    yield from make_api(database_url)

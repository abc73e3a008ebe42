"""Property-based API test: inputs generated from the OpenAPI document never get a 5xx.

The service runs as ``leadscore serve`` runs it (the integrations mounted from an
integrations file: tracking, a form hook, unsigned SendGrid and Mailgun hooks), on
SQLite and on PostgreSQL, with a published model, a contact and an account. Every
operation is called with generated path, query and body values with a key of each
scope; model files are generated from a real model with parts replaced by odd
values. Any answer below 500 is fine; errors must be problem+json.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import schemathesis
import yaml
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadscore.service import create_app, load_settings
from leadscore.service.app import default_extensions
from leadscore.service.auth import create_key
from leadscore.service.versions import create_draft, publish

from .helpers import model_yaml, postgres_schema

pytestmark = pytest.mark.slow

HOOKS = """\
hooks:
  form:
    kind: form
    form_id_field: form
    event_id_field: id
    properties: {company: company, job: job_title}
    attributes: {page: url, campaign: campaign}
  sendgrid: {kind: sendgrid, require_signature: false}
  mailgun: {kind: mailgun, require_signature: false}
"""
SCOPES = ("read", "write", "admin", "track")
FUZZ = {"deadline": None, "derandomize": True, "suppress_health_check": list(HealthCheck)}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def served(request, tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    if request.param == "sqlite":
        url = f"sqlite:///{root / 'fuzz.db'}"
    else:
        url = postgres_schema(request.getfixturevalue("pg_database"))
    (root / "integrations.yaml").write_text(HOOKS)
    app = create_app(
        load_settings(
            {
                "database": url,
                "integrations": str(root / "integrations.yaml"),
                "outbox_poll_interval": 0,
                "sweep_interval": 0,
                "outbound_allow": "127.0.0.1",  # the model's webhook receiver
            },
            env={},
        ),
        workers=False,
        extensions=default_extensions(),  # as `leadscore serve` builds it
    )
    svc = app.state.service
    with svc.store.write() as conn:
        tokens = {scope: create_key(conn, f"fuzz-{scope}", scope)[1] for scope in SCOPES}
        spare = create_key(conn, "fuzz-spare", "read")[0]  # the one key the fuzzer may revoke
    draft = create_draft(svc, model_yaml(), {}, "fuzz")
    publish(svc, draft["name"], draft["version"], "fuzz", fire_triggers=False)
    with TestClient(app) as client:
        admin = {"Authorization": f"Bearer {tokens['admin']}"}
        client.put("/v1/contacts/c1", json={"properties": {"country": "FR"}}, headers=admin)
        client.put("/v1/accounts/a1", json={"domain": "acme.example"}, headers=admin)
        yield app, tokens, client, spare
    svc.store.dispose()


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(scope="module")
def api_schema(served):
    app, spare = served[0], served[3]
    doc = copy.deepcopy(app.openapi())
    aim = {  # path parameters pointed at things that exist (and some that do not)
        ("/hooks/{source}", "post", "source"): ["form", "sendgrid", "mailgun", "nope"],
        # revoking the test's own keys would turn every later call into a 401
        ("/v1/keys/{key_id}", "delete", "key_id"): [spare, 999, 2**31 - 1],
    }
    for (path, method, name), values in aim.items():
        for param in doc["paths"][path][method]["parameters"]:
            if param["name"] == name:
                param["schema"] = {"enum": values}
    loaded = schemathesis.openapi.from_dict(doc)
    loaded.app = app
    return loaded


def _check(case, response) -> None:
    where = (case.method, case.formatted_path, response.text[:500])
    assert response.status_code < 500, where
    if response.status_code >= 400:
        ctype = response.headers.get("content-type")
        ctype = ctype[0] if isinstance(ctype, list) else ctype
        assert ctype == "application/problem+json", where


@schema.parametrize()
@settings(max_examples=12, **FUZZ)
def test_no_server_error_with_an_admin_key(case, served):
    _check(case, case.call(headers={"Authorization": f"Bearer {served[1]['admin']}"}))


@schema.parametrize()
@settings(max_examples=4, **FUZZ)
def test_no_server_error_with_other_keys_or_none(case, served):
    """Each generated request sent with a read, a write and a track key, and with none."""
    for scope in ("read", "write", "track", None):
        headers = {"Authorization": f"Bearer {served[1][scope]}"} if scope else {}
        _check(case, case.call(headers=headers))


# ------------------------------------------------------------------ model files


def _on_is_a_key(node: Any) -> Any:
    """YAML 1.1 reads the key ``on`` as true; the model language means the word."""
    if isinstance(node, dict):
        return {("on" if k is True else k): _on_is_a_key(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_on_is_a_key(v) for v in node]
    return node


BASE = _on_is_a_key(yaml.safe_load(model_yaml()))
ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        ["", "\x00", "a/b", "30d", "0d", "-5d", "12mo", "(a+)+$", "[", "MQL", "total", "x" * 300]
    ),
)
JSONISH = st.recursive(
    ODD,
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=3)
    ),
    max_leaves=8,
)


def _paths(node: Any, at: tuple = ()) -> list[tuple]:
    out = [at]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*at, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*at, i))
    return out


def _at(doc: Any, path: tuple) -> Any:
    for part in path:
        doc = doc[part]
    return doc


PATHS = [p for p in _paths(BASE) if p]
LEAVES = [p for p in PATHS if not isinstance(_at(BASE, p), dict | list)]


def _replace(doc: Any, path: tuple, value: Any) -> Any:
    """``doc`` with the node at ``path`` replaced (unchanged when an earlier replacement
    removed that path)."""
    doc = copy.deepcopy(doc)
    node = doc
    try:
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
    except (KeyError, IndexError, TypeError):
        pass
    return doc


TEXTS = st.one_of(
    st.text(min_size=1, max_size=12),
    st.sampled_from(["", "\x00", "a\x00b", "a/b", " ", "Ωμέγα", "x" * 300, "(a+)+$", "["]),
)
NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
)


@st.composite
def model_files(draw) -> str:
    """The test model with one to three parts replaced: mostly by a value of the same
    kind (text for text, a number for a number), so that many files stay valid and
    reach the store, sometimes by anything; sometimes the text is damaged too."""
    doc = BASE
    for _ in range(draw(st.integers(1, 2))):
        path = draw(st.sampled_from(LEAVES if draw(st.integers(0, 3)) < 3 else PATHS))
        try:
            old = _at(doc, path)
        except (KeyError, IndexError, TypeError):
            continue
        if isinstance(old, str) and draw(st.integers(0, 3)) < 3:
            value = draw(TEXTS)
        elif (
            isinstance(old, int | float)
            and not isinstance(old, bool)
            and draw(st.integers(0, 3)) < 3
        ):
            value = draw(NUMBERS)
        else:
            value = draw(JSONISH)
        doc = _replace(doc, path, value)
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    if draw(st.integers(0, 3)) == 3:
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(["", ":", "\t", "- ", "{", "\\0"])) + text[cut:]
    return text


@settings(max_examples=40, **FUZZ)
@given(text=model_files())
def test_no_server_error_on_generated_model_files(served, text):
    _, tokens, client, _ = served
    for path, scope in (("/v1/models/validate", "read"), ("/v1/models", "admin")):
        r = client.post(
            path, json={"yaml": text}, headers={"Authorization": f"Bearer {tokens[scope]}"}
        )
        assert r.status_code < 500, (path, text, r.text)
        assert r.status_code in (200, 201, 422), (path, text, r.text)

"""Bad input gets a 422 problem naming the field and the fix, on both stores, never a
5xx and never garbage in the store; a public track key learns nothing from answers."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from leadscore.integrations.config import config_from_text
from leadscore.integrations.mount import install
from leadscore.store import tables as T

from .helpers import model_yaml

TIMED = """\
name: timed
groups:
  engagement:
    decay: {half_life: 30d}
    rules:
      - name: Page
        on: {type: page_view}
        points: 10
        within: 90d
      - name: Quiet
        inactive_for: 90d
        points: -5
exclusions:
  - name: Invalid e-mail
    when: {email_type: invalid}
"""


def _count(api, table) -> int:
    with api.service.store.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def _refused(r, *words: str) -> dict:
    assert r.status_code == 422, (r.request.method, r.request.url, r.text)
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    for word in words:
        assert word in body["detail"], (word, body["detail"])
    return body


NUL = "a\u0000b"

# (method, path, raw JSON body, words the problem must say)
BODIES = [
    ("post", "/v1/events", {"contact_id": "c1", "type": NUL}, ["type", "NUL"]),
    ("post", "/v1/events", {"contact_id": NUL, "type": "x"}, ["contact_id", "NUL"]),
    ("post", "/v1/events", {"contact_id": "c1", "type": "x", "idempotency_key": NUL},
     ["idempotency_key", "NUL"]),
    ("post", "/v1/events", {"email": "a\u0000@b.example", "type": "x"}, ["email", "NUL"]),
    ("post", "/v1/events", {"contact_id": "c1", "type": "x", "attributes": {"u": NUL}},
     ["attributes.u", "NUL"]),
    ("post", "/v1/events/batch", {"events": [{"contact_id": "c1", "type": "x"},
                                             {"contact_id": "c1", "type": NUL}]},
     ["events[1].type", "NUL"]),
    ("put", "/v1/contacts/c1", {"properties": {"company": NUL}}, ["properties.company", "NUL"]),
    ("put", "/v1/contacts/c1", {"properties": {NUL: 1}}, ["properties.a", "NUL"]),
    ("post", "/v1/contacts", {"email": "a\u0000@b.example"}, ["email", "NUL"]),
    ("post", "/v1/contacts/batch", {"contacts": [{"id": "c2"}, {"id": NUL}]},
     ["contacts[1].id", "NUL"]),
    ("put", "/v1/accounts/a1", {"domain": "acme\u0000.example"}, ["domain", "NUL"]),
    ("post", "/v1/contacts/c1/adjustments", {"points": 1, "reason": NUL}, ["reason", "NUL"]),
]  # fmt: skip

# Non-finite or overflowing numbers, as a client's JSON encoder writes them.
NUMBERS = [
    ("put", "/v1/contacts/c1", '{"properties": {"budget": NaN}}', ["properties.budget", "NaN"]),
    ("put", "/v1/contacts/c1", '{"properties": {"budget": Infinity}}', ["Infinity"]),
    ("put", "/v1/contacts/c1", '{"properties": {"budget": 1e400}}', ["budget", "finite"]),
    ("put", "/v1/contacts/c1", '{"properties": {"n": 1' + "0" * 30 + "}}", ["n", "64-bit"]),
    ("post", "/v1/events", '{"contact_id": "c1", "type": "x", "attributes": {"v": -Infinity}}',
     ["attributes.v", "-Infinity"]),
    ("post", "/v1/events", '{"contact_id": "c1", "type": "x", "attributes": {"v": [1, NaN]}}',
     ["attributes.v[1]", "NaN"]),
    ("put", "/v1/accounts/a1", '{"properties": {"revenue": NaN}}', ["properties.revenue"]),
    ("post", "/v1/models", '{"yaml": "name: x", "hysteresis": {"t": NaN}}', ["hysteresis"]),
    ("post", "/v1/contacts/c1/adjustments", '{"points": NaN, "reason": "r"}', ["points"]),
]  # fmt: skip


def _send(api, method: str, path: str, body) -> object:
    content = body if isinstance(body, str) else json.dumps(body)
    return api.client.request(
        method, path, content=content, headers={**api.h(), "Content-Type": "application/json"}
    )


@pytest.mark.parametrize(("method", "path", "body", "words"), BODIES + NUMBERS)
def test_values_a_store_cannot_keep_are_refused_naming_the_field(api, method, path, body, words):
    api.publish_model(model_yaml())
    assert api.put("/v1/contacts/c1", {"properties": {"company": "Acme"}}).status_code == 200
    events, contacts = _count(api, T.events), _count(api, T.contacts)
    _refused(_send(api, method, path, body), *words)
    assert (_count(api, T.events), _count(api, T.contacts)) == (events, contacts)
    assert api.get("/v1/contacts/c1").json()["properties"]["company"] == "Acme"


def test_deep_json_is_refused_with_the_depth(api):
    deep: object = 1
    for _ in range(40):
        deep = [deep]
    _refused(_send(api, "put", "/v1/contacts/c1", {"properties": {"d": deep}}), "nested", "32")


@pytest.mark.parametrize(
    ("path", "params", "location"),
    [
        ("/v1/contacts", {"q": "\u0000"}, "query.q"),
        ("/v1/contacts", {"stage": "M\u0000QL"}, "query.stage"),
        ("/v1/contacts/c%001", {}, "path.contact_id"),
        ("/v1/accounts", {"q": "x\u0000"}, "query.q"),
        ("/v1/deliveries", {"contact_id": "\u0000"}, "query.contact_id"),
    ],
)
def test_nul_in_path_or_query_is_refused(api, path, params, location):
    api.publish_model(model_yaml())
    body = _refused(api.get(path, params=params), location, "NUL")
    assert body["errors"][0]["location"] == location


def test_nul_in_the_idempotency_header_is_refused(api):
    api.put("/v1/contacts/c1", {})
    r = api.post(
        "/v1/events", {"contact_id": "c1", "type": "x"}, headers={"Idempotency-Key": "k\u0000"}
    )
    _refused(r, "idempotency-key", "NUL")
    assert _count(api, T.events) == 0


@pytest.mark.parametrize("param", ["min_total", "max_total"])
@pytest.mark.parametrize("value", ["nan", "inf", "-Infinity"])
def test_non_finite_filters_are_refused(api, param, value):
    api.publish_model(model_yaml())
    _refused(api.get("/v1/contacts", params={param: value}), param, "finite")


def test_non_finite_account_filter_is_refused(api):
    _refused(api.get("/v1/accounts", params={"min_total": "nan"}), "min_total", "finite")


@pytest.mark.parametrize(
    "as_of", ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00"]
)
def test_times_outside_the_kept_range_are_refused(api, as_of):
    api.publish_model(TIMED)
    api.event("c1", "page_view")
    _refused(api.get("/v1/contacts/c1/scores", params={"as_of": as_of}), "as_of", "1900-01-01")
    r = api.post("/v1/models/timed/versions/1/test", {"contact_id": "c1", "as_of": as_of})
    _refused(r, "as_of", "1900-01-01")
    r = api.post("/v1/events", {"contact_id": "c1", "type": "page_view", "ts": as_of})
    _refused(r, "ts", "1900-01-01")
    assert _count(api, T.events) == 1
    # inside the range, old and far times still score
    r = api.get("/v1/contacts/c1/scores", params={"as_of": "1900-01-01T00:00:00Z"})
    assert r.status_code == 200 and r.json()["scores"][0]["total"] == 0


def test_an_invalid_email_is_stored_and_scored_not_refusing_the_batch(api):
    api.publish_model(TIMED)
    r = api.post(
        "/v1/contacts/batch",
        {"contacts": [{"email": "ann@acme.example"}, {"email": "  Not-An-Address "}]},
    )
    assert r.status_code == 200, r.text
    good, bad = (x["id"] for x in r.json()["results"])
    contact = api.get(f"/v1/contacts/{bad}").json()
    assert contact["email"] == "not-an-address"
    assert contact["properties"]["email_valid"] is False
    assert contact["properties"]["email_type"] == "invalid"
    assert contact["scores"][0]["excluded"] is True  # the model scores the fact
    assert api.get(f"/v1/contacts/{good}").json()["scores"][0]["excluded"] is False
    # the address still finds its contact, and still belongs to one contact only
    r = api.post("/v1/contacts", {"email": "NOT-AN-ADDRESS", "properties": {"x": 1}})
    assert r.status_code == 200 and r.json() == {**r.json(), "id": bad, "created": False}
    assert api.put("/v1/contacts/other", {"email": "not-an-address"}).status_code == 409
    # an event by that address goes to the same contact
    r = api.post("/v1/events", {"email": "Not-An-Address", "type": "page_view"})
    assert r.status_code == 202 and r.json()["contact_id"] == bad
    _refused(api.post("/v1/contacts", {"email": "   "}), "email", "blank")
    _refused(api.post("/v1/contacts", {"email": "a" * 400 + "@acme.example"}), "email", "320")


def test_a_track_key_learns_nothing_but_its_events_are_stored_and_scored(api):
    api.publish_model(model_yaml())
    r = api.post("/v1/contacts", {"email": "ceo@target.example", "properties": {"country": "FR"}})
    cid = r.json()["id"]
    r = api.post(
        "/v1/events",
        {"email": "ceo@target.example", "type": "form_submit", "idempotency_key": "k1"},
        scope="track",
    )
    assert r.status_code == 202 and r.json() == {"status": "received"}
    again = api.post(
        "/v1/events",
        {"email": "ceo@target.example", "type": "form_submit", "idempotency_key": "k1"},
        scope="track",
    )
    assert again.status_code == 202 and again.json() == {"status": "received"}  # no "duplicate"
    r = api.post(
        "/v1/events/batch",
        {"events": [{"email": "ceo@target.example", "type": "page_view",
                     "attributes": {"url": "/pricing"}}]},
        scope="track",
    )  # fmt: skip
    assert r.status_code == 202 and r.json() == {"received": 1}
    assert cid not in r.text and "total" not in r.text
    assert api.score(cid)["total"] == 60  # 20 fit + 30 demo + 10 pricing
    with api.service.store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(T.events)).scalar() == 2
    # write keys still get the details they use
    r = api.post("/v1/events", {"contact_id": cid, "type": "page_view"}, scope="write")
    assert r.json()["contact_id"] == cid and "scores" in r.json()


def test_a_track_key_reaches_only_event_ingest(api):
    """Every other route answers a track key 403 (and reveals nothing)."""
    install(api.app, config_from_text("hooks: {}\n"), env={})
    reached = []
    for path, ops in sorted(api.app.openapi()["paths"].items()):
        for method in ops:
            url = path.replace("{", "").replace("}", "")
            r = api.client.request(method.upper(), url, headers=api.h("track"), json={})
            if r.status_code != 403 and path.startswith(("/v1", "/integrations")):
                reached.append((method, path, r.status_code))
    assert reached == [("post", "/v1/events", 422), ("post", "/v1/events/batch", 422)]


# ------------------------------------------------------------------ integrations
HOOKS = """\
hooks:
  form: {kind: form, properties: {company: company}, attributes: {page: page}}
"""


@pytest.fixture
def hooked(api):
    install(api.app, config_from_text(HOOKS), env={})
    api.publish_model(model_yaml())
    return api


def _hit(api, body: str | dict) -> object:
    content = body if isinstance(body, str) else json.dumps(body)
    return api.client.post("/t", content=content, headers={"Content-Type": "text/plain"})


def _form(api, body: str | dict) -> object:
    content = body if isinstance(body, str) else json.dumps(body)
    return api.client.post(
        "/hooks/form", content=content, headers={"Content-Type": "application/json"}
    )


def _problem(r, status: int, *words: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    for word in words:
        assert word in r.json()["detail"], (word, r.json()["detail"])


def test_tracking_refuses_or_ignores_what_cannot_be_stored(hooked):
    api = hooked
    long_email = "a" * 400 + "@acme.example"
    hit = {"t": "form_submit", "v": "visitor-0001", "id": "hit00001", "e": long_email}
    r = _hit(api, hit)
    assert r.status_code == 202 and r.json() == {"status": "waiting"}  # not an identity
    deep = '{"t": "page_view", "v": "visitor-0001", "id": "hit00002", "u": ' + "[" * 5000
    _problem(_hit(api, deep + "]" * 5000 + "}"), 400, "nested too deeply")
    _problem(_hit(api, {**hit, "id": "hit00003", "e": None, "u": [[["x"]]]}), 400, "'u'", "text")
    _problem(_hit(api, {**hit, "id": "hit00004", "e": None, "u": NUL}), 400, "'u'", "NUL")
    _problem(_hit(api, {**hit, "id": "hit00005", "e": "ann\u0000@acme.example"}), 400, "NUL")
    # the visitor's waiting hits still merge when a real address comes
    r = _hit(api, {**hit, "id": "hit00006", "e": "ann@acme.example"})
    assert r.status_code == 202 and r.json() == {"status": "identified"}
    assert _count(api, T.events) == 2


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"email": "a" * 400 + "@acme.example"}, 422, ["email", "320"]),
        ('{"email": "ann@acme.example", "page": ' + "[" * 5000 + "]" * 5000 + "}", 400,
         ["nested too deeply"]),
        ('{"email": "ann@acme.example", "page": ' + "[" * 33 + "]" * 33 + "}", 422,
         ["attributes.page", "nested"]),
        ({"email": "ann@acme.example", "company": NUL}, 422, ["properties.company", "NUL"]),
        ({"email": "ann\u0000@acme.example"}, 422, ["NUL"]),
        ('{"email": "ann@acme.example", "page": NaN}', 422, ["attributes.page", "NaN"]),
        ('{"email": "ann@acme.example", "company": Infinity}', 422, ["Infinity"]),
    ],
    ids=["long-email", "deep-json", "deep-value", "nul-property", "nul-email", "nan", "inf"],
)  # fmt: skip
def test_form_hook_refuses_what_cannot_be_stored_and_stores_nothing(hooked, body, status, words):
    _problem(_form(hooked, body), status, *words)
    assert (_count(hooked, T.events), _count(hooked, T.contacts)) == (0, 0)
    r = _form(hooked, {"email": "ann@acme.example", "company": "Acme", "page": "/demo"})
    assert r.status_code == 200 and r.json()["accepted"] == 1


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("get", "/v1/deliveries", {"offset": 2**63}),
        ("get", "/v1/audit", {"offset": 2**63}),
        ("get", "/v1/contacts/c1/history", {"offset": 2**63}),
        ("get", "/v1/accounts/a1/history", {"offset": 2**63}),
        ("get", "/v1/accounts/a1/contacts", {"offset": 2**63}),
        ("delete", "/v1/keys/4611686018427387903", {}),
        ("post", "/v1/deliveries/4611686018427387903/retry", {}),
    ],
)
def test_numbers_beyond_the_store_columns_are_refused(api, method, path, params):
    api.put("/v1/contacts/c1", {})
    api.put("/v1/accounts/a1", {})
    r = api.client.request(method.upper(), path, params=params, headers=api.h())
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"


def test_tracking_refuses_a_hit_type_that_is_not_text(hooked):
    r = _hit(hooked, {"t": {}, "v": "visitor-0001", "id": "hit00001"})
    _problem(r, 400, "'t' must be one of")

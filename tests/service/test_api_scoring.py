"""Contacts, events and scores through the API, on SQLite and PostgreSQL.

Expected scores are worked out by hand from helpers.MODEL: country FR gives
20 (fit, grade A at 20), each pricing page view 10, each form submit 30;
MQL at a total of 50.
"""

from __future__ import annotations

from .helpers import model_yaml


def test_health_needs_no_key_and_routes_need_one(api):
    assert api.client.get("/health").json()["status"] == "ok"
    r = api.client.get("/v1/contacts")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 401 and "API key" in r.json()["detail"]
    r = api.client.get("/v1/contacts", headers={"X-API-Key": "ls_nope_nope"})
    assert r.status_code == 401


def test_event_updates_score_before_the_answer(api):
    api.publish_model(model_yaml())
    r = api.put("/v1/contacts/c1", {"email": "Ann@Acme.example", "properties": {"country": "FR"}})
    assert r.status_code == 200, r.text
    assert r.json()["created"] is True
    assert r.json()["scores"]["demo"] == {
        "total": 20.0,
        "grade": "A",
        "stage": "lead",
        "excluded": False,
    }
    out = api.event("c1", "page_view", url="/pricing")
    assert out["status"] == "accepted"
    assert out["scores"]["demo"]["total"] == 30.0
    detail = api.get("/v1/contacts/c1").json()
    assert detail["email"] == "ann@acme.example"
    assert detail["events"] == 1
    (score,) = detail["scores"]
    fired = {h["rule"]: h["points"] for h in score["breakdown"] if h["fired"]}
    assert fired == {"Target country": 20.0, "Pricing page": 10.0}


def test_retried_delivery_counts_once(api):
    api.publish_model(model_yaml())
    first = api.event("c1", "form_submit", key="evt-1")
    again = api.event("c1", "form_submit", key="evt-1")
    assert first["status"] == "accepted" and again["status"] == "duplicate"
    assert api.score("c1")["total"] == 30.0
    # The same key in a batch, twice, and once more with the header form.
    r = api.post(
        "/v1/events/batch",
        {
            "events": [
                {
                    "contact_id": "c1",
                    "type": "page_view",
                    "attributes": {"url": "/pricing"},
                    "idempotency_key": "evt-2",
                    "ts": "2026-01-01T00:00:00Z",
                },
                {
                    "contact_id": "c1",
                    "type": "page_view",
                    "attributes": {"url": "/pricing"},
                    "idempotency_key": "evt-2",
                    "ts": "2026-01-01T00:00:00Z",
                },
            ]
        },
    )
    assert r.status_code == 202, r.text
    assert (r.json()["accepted"], r.json()["duplicates"]) == (1, 1)
    r = api.post(
        "/v1/events",
        {"contact_id": "c1", "type": "page_view", "attributes": {"url": "/pricing"}},
        headers={"Idempotency-Key": "evt-2"},
    )
    assert r.json()["status"] == "duplicate"
    assert api.score("c1")["total"] == 40.0
    assert api.get("/v1/contacts/c1").json()["events"] == 2


def test_contacts_upsert_by_email_and_merge(api):
    r = api.post("/v1/contacts", {"email": "bo@x.example", "properties": {"country": "DE"}})
    cid = r.json()["id"]
    r = api.post("/v1/contacts", {"email": "BO@x.example", "properties": {"job_title": "CTO"}})
    assert r.json() == {**r.json(), "id": cid, "created": False}
    props = api.get(f"/v1/contacts/{cid}").json()["properties"]
    given = {"country": "DE", "job_title": "CTO", "email": "bo@x.example"}
    assert {k: props[k] for k in given} == given
    # the built-in enrichment added what it derives from them
    assert (props["seniority"], props["email_domain"], props["country_valid"]) == (
        "c_level",
        "x.example",
        True,
    )
    api.put(f"/v1/contacts/{cid}", {"properties": {"country": None}})
    props = api.get(f"/v1/contacts/{cid}").json()["properties"]
    assert "country" not in props and "country_valid" not in props
    r = api.put("/v1/contacts/other", {"email": "bo@x.example"})
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    r = api.post("/v1/contacts/batch", {"contacts": [{"id": f"b{i}"} for i in range(3)]})
    assert [x["created"] for x in r.json()["results"]] == [True, True, True]


def test_event_by_email_creates_contact(api):
    api.publish_model(model_yaml())
    r = api.post("/v1/events", {"email": "new@x.example", "type": "form_submit"})
    assert r.status_code == 202
    cid = r.json()["contact_id"]
    assert api.get(f"/v1/contacts/{cid}").json()["email"] == "new@x.example"
    r = api.post("/v1/events", {"email": "NEW@x.example", "type": "form_submit"})
    assert r.json()["contact_id"] == cid


def test_list_sorted_filtered_searched_paginated(api):
    api.publish_model(model_yaml())
    api.post(
        "/v1/contacts/batch",
        {
            "contacts": [
                {"id": "a", "properties": {"country": "FR", "company": "Acme"}},
                {"id": "b", "properties": {"country": "DE"}},
                {"id": "c", "properties": {"country": "FR"}},
            ]
        },
    )
    api.event("c", "form_submit")
    api.event("c", "page_view", url="/pricing")  # c: 20 + 30 + 10 = 60, MQL
    page = api.get("/v1/contacts", params={"sort": "total", "order": "desc"}).json()
    assert [(i["id"], i["score"]["total"]) for i in page["items"]] == [
        ("c", 60.0),
        ("a", 20.0),
        ("b", 0.0),
    ]
    assert page["total"] == 3
    assert [i["id"] for i in api.get("/v1/contacts", params={"stage": "MQL"}).json()["items"]] == [
        "c"
    ]
    assert [
        i["id"]
        for i in api.get(
            "/v1/contacts", params={"grade": "A", "sort": "id", "order": "asc"}
        ).json()["items"]
    ] == ["a", "c"]
    assert [i["id"] for i in api.get("/v1/contacts", params={"q": "acme"}).json()["items"]] == ["a"]
    page = api.get("/v1/contacts", params={"limit": 1, "offset": 1}).json()
    assert [i["id"] for i in page["items"]] == ["a"] and page["total"] == 3
    r = api.get("/v1/contacts", params={"model": "nope"})
    assert r.status_code == 404


def test_adjustment_in_breakdown_history_and_kept_on_rescore(api):
    api.publish_model(model_yaml())
    api.put("/v1/contacts/c1", {"properties": {"country": "FR"}})
    r = api.post("/v1/contacts/c1/adjustments", {"points": 25, "reason": "met at fair"})
    assert r.status_code == 201, r.text
    assert r.json()["scores"]["demo"] == {
        "total": 45.0,
        "grade": "A",
        "stage": "lead",
        "excluded": False,
    }
    api.event("c1", "page_view", url="/pricing")  # 20 + 10 + 25 = 55 -> MQL
    score = api.score("c1")
    assert (score["total"], score["stage"], score["adjustment"]) == (55.0, "MQL", 25.0)
    manual = [h for h in score["breakdown"] if h["kind"] == "adjustment"]
    assert manual[0]["rule"] == "met at fair" and manual[0]["points"] == 25.0
    hist = api.get("/v1/contacts/c1/history").json()["items"]
    assert [(h["cause"], h["old_total"], h["new_total"]) for h in hist] == [
        ("contact", None, 20.0),
        ("adjustment", 20.0, 45.0),
        ("event", 45.0, 55.0),
    ]
    assert hist[-1]["old_stage"] == "lead" and hist[-1]["new_stage"] == "MQL"
    # A publish rescoring everyone keeps the adjustment.
    api.publish_model(model_yaml(**{"points: 20": "points: 15"}))
    assert api.score("c1")["total"] == 50.0
    adj = api.get("/v1/contacts/c1/adjustments").json()["items"]
    assert adj[0]["author"].startswith("key:") and adj[0]["points"] == 25.0


def test_adjustment_clamped_to_scale(api):
    api.publish_model(model_yaml())
    api.put("/v1/contacts/c1", {"properties": {"country": "FR"}})
    api.post("/v1/contacts/c1/adjustments", {"points": -50, "reason": "bad fit"})
    assert api.score("c1")["total"] == 0.0
    api.post("/v1/contacts/c1/adjustments", {"points": 100, "reason": "vip"})
    api.post("/v1/contacts/c1/adjustments", {"points": 50, "reason": "vip again"})
    assert api.score("c1")["total"] == 100.0


def test_score_as_of_past_time(api):
    api.publish_model(model_yaml())
    api.event("c1", "form_submit", ts="2026-01-10T00:00:00Z")
    api.event("c1", "page_view", url="/pricing", ts="2026-02-10T00:00:00Z")
    r = api.get("/v1/contacts/c1/scores", params={"as_of": "2026-01-20T00:00:00Z"})
    assert r.status_code == 200, r.text
    assert r.json()["scores"][0]["total"] == 30.0
    assert api.score("c1")["total"] == 40.0


def test_excluded_contact_at_floor(api):
    api.publish_model(model_yaml())
    r = api.put("/v1/contacts/x", {"email": "spy@rival.example", "properties": {"country": "FR"}})
    assert r.json()["scores"]["demo"] == {
        "total": 0.0,
        "grade": "A",
        "stage": None,
        "excluded": True,
    }
    assert [
        i["id"] for i in api.get("/v1/contacts", params={"excluded": True}).json()["items"]
    ] == ["x"]


def test_unknown_contact_refused_by_setting(database_url):
    from .conftest import make_api

    for api in make_api(database_url, unknown_contacts="refuse"):
        r = api.post("/v1/events", {"contact_id": "ghost", "type": "page_view"})
        assert r.status_code == 422
        assert r.json()["contacts"] == ["ghost"]
        api.put("/v1/contacts/ghost", {})
        assert (
            api.post("/v1/events", {"contact_id": "ghost", "type": "page_view"}).status_code == 202
        )


def test_delete_and_erase(api, receiver):
    api.publish_model(model_yaml(receiver.url))
    api.put("/v1/contacts/c1", {"email": "ann@acme.example", "properties": {"country": "FR"}})
    api.event("c1", "form_submit")  # 50: MQL, a delivery is queued
    api.put("/v1/contacts/c2", {"email": "bob@acme.example"})
    assert api.delete("/v1/contacts/c2", scope="write").status_code == 204
    assert api.get("/v1/contacts/c2").status_code == 404
    assert api.post("/v1/contacts/c1/erase", scope="write").status_code == 403
    assert api.post("/v1/contacts/c1/erase").status_code == 204
    assert api.get("/v1/contacts/c1").status_code == 404
    assert api.get("/v1/deliveries").json()["total"] == 0
    log = api.get("/v1/audit", params={"limit": 1000}).json()["items"]
    text = str(log)
    assert "c1" not in text and "ann@acme.example" not in text
    assert any(e["action"] == "contact.erase" for e in log)
    assert any(e["action"] == "contact.delete" and e["target"] == "c2" for e in log)


def test_body_size_limit(database_url):
    from .conftest import make_api

    for api in make_api(database_url, max_body_bytes=1000):
        r = api.post(
            "/v1/events", {"contact_id": "c", "type": "x", "attributes": {"pad": "y" * 2000}}
        )
        assert r.status_code == 413
        assert r.headers["content-type"] == "application/problem+json"

        def chunked():  # no Content-Length: the limit is counted while reading
            yield b'{"contact_id": "c", "type": "x", "attributes": {"pad": "'
            for _ in range(10):
                yield b"y" * 500
            yield b'"}}'

        r = api.client.post(
            "/v1/events", content=chunked(), headers={**api.h(), "content-type": "application/json"}
        )
        assert r.status_code == 413
        small = api.client.post(
            "/v1/events",
            content=iter([b'{"contact_id": "c", ', b'"type": "x"}']),
            headers={**api.h(), "content-type": "application/json"},
        )
        assert small.status_code == 202, small.text


def test_batch_limit(database_url):
    from .conftest import make_api

    for api in make_api(database_url, max_batch=2):
        events = [{"contact_id": "c", "type": "x"}] * 3
        r = api.post("/v1/events/batch", {"events": events})
        assert r.status_code == 413 and "at most 2" in r.json()["detail"]

"""Model versions through the API: drafts, validation, test, impact, diff, rollback."""

from __future__ import annotations

from .helpers import model_yaml


def test_invalid_draft_answers_located_problems(api):
    bad = model_yaml().replace("points: 30", "points: thirty")
    r = api.post("/v1/models", {"yaml": bad})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    (problem,) = body["problems"]
    assert problem["line"] == 15 and "points" in problem["path"]
    assert body["detail"].startswith("the model has 1 problem")
    r = api.post("/v1/models/validate", {"yaml": bad}, scope="read")
    assert r.status_code == 200 and r.json()["valid"] is False
    assert r.json()["problems"][0]["line"] == 15
    assert api.post("/v1/models/validate", {"yaml": model_yaml()}).json()["valid"] is True


def test_draft_is_not_live_until_published(api):
    api.put("/v1/contacts/c1", {"properties": {"country": "FR"}})
    r = api.post("/v1/models", {"yaml": model_yaml()})
    assert r.json() == {**r.json(), "name": "demo", "version": 1, "status": "draft"}
    assert api.get("/v1/contacts/c1").json()["scores"] == []
    test = api.post("/v1/models/demo/versions/1/test", {"contact_id": "c1"}).json()
    assert (test["total"], test["grade"], test["stage"], test["current"]) == (
        20.0,
        "A",
        "lead",
        None,
    )
    models = api.get("/v1/models").json()["items"]
    assert models[0]["published"] is None
    api.post("/v1/models/demo/versions/1/publish")
    assert api.score("c1")["total"] == 20.0
    assert api.get("/v1/models").json()["items"][0]["published"] == 1


def test_impact_preview_counts_stage_and_grade_changes(api):
    api.publish_model(model_yaml())
    for cid in ("a", "b", "c"):
        api.put(f"/v1/contacts/{cid}", {"properties": {"country": "FR"}})
    api.event("a", "page_view", url="/pricing")  # a: 30
    api.event("b", "form_submit")  # b: 50 MQL
    # v2: the country is worth 5, pricing views 25: a 30 (lead), b 35 (lead), c 5 (lead)
    v2 = model_yaml(**{"points: 20": "points: 5", "points: 10": "points: 25"})
    api.post("/v1/models", {"yaml": v2})
    out = api.get("/v1/models/demo/versions/2/impact").json()
    assert out["contacts"] == 3
    assert out["stage_changes"] == 1
    assert out["stages"] == [{"from": "MQL", "to": "lead", "contacts": 1}]
    assert out["grade_changes"] == 3  # A -> D (5 is below B's 10)
    assert out["by_stage_after"] == {"lead": 3}
    # a 30 -> 30, b 50 -> 35, c 20 -> 5: (0 - 15 - 15) / 3
    assert abs(out["mean_total_change"] - (-10.0)) < 1e-9
    # Nothing changed in the store.
    assert api.score("b")["stage"] == "MQL"


def test_diff_and_rollback(api):
    api.publish_model(model_yaml())
    v2 = model_yaml(**{"name: Pricing page": "name: Pricing"}).replace("points: 30", "points: 35")
    api.publish_model(v2)
    d = api.get("/v1/models/demo/diff", params={"from": 1, "to": 2}).json()
    assert d["rules_added"] == ["Pricing"] and d["rules_removed"] == ["Pricing page"]
    assert d["rules_changed"] == ["Demo request"]
    assert "-        points: 30" in d["unified"] and "+        points: 35" in d["unified"]
    api.event("c1", "form_submit")
    assert api.score("c1")["total"] == 35.0
    r = api.post("/v1/models/demo/rollback", {"version": 1})
    assert r.status_code == 200, r.text
    assert api.score("c1")["total"] == 30.0 and api.score("c1")["version"] == 1
    versions = {
        v["version"]: v["status"] for v in api.get("/v1/models").json()["items"][0]["versions"]
    }
    assert versions == {1: "published", 2: "archived"}
    assert api.post("/v1/models/demo/rollback", {"version": 1}).status_code == 409
    api.post("/v1/models", {"yaml": model_yaml()})
    assert api.post("/v1/models/demo/rollback", {"version": 3}).status_code == 409
    assert api.get("/v1/models/demo/versions/9").status_code == 404
    assert api.get("/v1/models/demo/versions/2").json()["yaml"] == v2


def test_several_published_models_score_each_contact(api):
    api.publish_model(model_yaml())
    other = (
        model_yaml()
        .replace("name: demo", "name: product-b")
        .replace("when: {country: FR}", "when: {country: DE}")
    )
    api.publish_model(other)
    api.put("/v1/contacts/c1", {"properties": {"country": "DE"}})
    scores = {s["model"]: s["total"] for s in api.get("/v1/contacts/c1").json()["scores"]}
    assert scores == {"demo": 0.0, "product-b": 20.0}
    page = api.get("/v1/contacts", params={"model": "product-b"}).json()
    assert page["items"][0]["score"]["model"] == "product-b"


def test_sweep_catches_up_time_based_rules(api):
    from datetime import UTC, datetime, timedelta

    yaml = model_yaml().replace("points: 10", "points: 10\n        within: 7d")
    api.publish_model(yaml)
    now = datetime.now(UTC)
    api.event("c1", "page_view", url="/pricing", ts=(now - timedelta(days=5)).isoformat())
    api.put("/v1/contacts/quiet", {"properties": {"country": "FR"}})  # no events: not swept
    assert api.score("c1")["total"] == 10.0
    # the view leaves its 7-day window in 2 days: nothing is due before
    assert api.service.sweep(now=now + timedelta(days=1)) == 0
    assert api.score("c1")["total"] == 10.0
    assert api.service.sweep(now=now + timedelta(days=3)) == 1
    assert api.score("c1")["total"] == 0.0
    assert api.get("/v1/contacts/c1/history").json()["items"][-1]["cause"] == "time"
    # out of every window, the score cannot change with time any more
    assert api.post("/v1/sweep").json() == {"rescored": 0}


def test_yaml_text_is_never_read_as_a_file_path(api, tmp_path):
    secret = tmp_path / "server-side.yaml"
    secret.write_text("name: leaked\ngroups: {g: {rules: []}}\n")
    r = api.post("/v1/models", {"yaml": str(secret)})
    assert r.status_code == 422
    assert "leaked" not in r.text
    r = api.post("/v1/models/validate", {"yaml": "name: x\x03"})
    assert r.json()["valid"] is False
    assert "not valid YAML" in r.json()["problems"][0]["message"]

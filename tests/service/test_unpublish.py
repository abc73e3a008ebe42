"""Unpublishing (archiving) a model: it stops scoring and leaves the lists; its scores
stay stored, hidden, until one of its versions is published again.

``tiny`` gives 20 points for a business e-mail (MQL from 20); ``other`` gives 5
points to everyone and is published beside it throughout.
"""

from __future__ import annotations

import sqlalchemy as sa

from leadscore.store import tables as T

from ..web.helpers import TINY_MODEL

TINY = TINY_MODEL  # business e-mail: 20 points; MQL from 20
OTHER = """name: other
groups:
  fit:
    rules:
      - name: Everyone
        when: {email_type: {exists: true}}
        points: 5
"""


def _stored(api, contact: str, model: str = "tiny") -> tuple[float, int] | None:
    """The score row kept in the store, shown or not: (total, version)."""
    s = T.scores.c
    with api.service.store.read() as conn:
        row = conn.execute(
            sa.select(s.total, s.version).where(s.contact_id == contact, s.model_name == model)
        ).first()
    return None if row is None else (row.total, row.version)


def _listed(api, **params) -> dict[str, dict]:
    r = api.get("/v1/models", params=params)
    assert r.status_code == 200, r.text
    return {m["name"]: m for m in r.json()["items"]}


def _shown(api, contact: str) -> list[str]:
    one = api.get(f"/v1/contacts/{contact}").json()["scores"]
    now = api.get(f"/v1/contacts/{contact}/scores").json()["scores"]
    assert [s["model"] for s in one] == [s["model"] for s in now]
    return [s["model"] for s in one]


def _tiny_history(api, contact: str) -> list[tuple]:
    items = api.get(f"/v1/contacts/{contact}/history", params={"model": "tiny"}).json()["items"]
    return [(h["cause"], h["version"], h["new_stage"]) for h in items]


def test_unpublish_stops_scoring_hides_scores_and_publishing_brings_them_back(api):
    for cid, kind in (("a", "business"), ("b", "free")):
        api.put(f"/v1/contacts/{cid}", {"properties": {"email_type": kind}})
    api.publish_model(TINY)
    api.publish_model(OTHER)
    assert _shown(api, "a") == ["other", "tiny"]

    assert api.post("/v1/models/tiny/unpublish", scope="write").status_code == 403
    r = api.post("/v1/models/tiny/unpublish")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "model": "tiny",
        "version": 1,
        "status": "unpublished",
        "scores_kept": 2,
        "deliveries_dropped": 0,
    }

    # gone from the lists, there with ?archived=true
    assert list(_listed(api)) == ["other"]
    listed = _listed(api, archived="true")
    assert listed["tiny"]["archived"] is True and listed["tiny"]["published"] is None
    assert [v["status"] for v in listed["tiny"]["versions"]] == ["unpublished"]
    assert listed["other"]["archived"] is False
    assert api.get("/v1/contacts", params={"model": "tiny"}).status_code == 404

    # its scores are kept but not shown; it scores nothing any more
    assert _shown(api, "a") == ["other"]
    assert _stored(api, "a") == (20.0, 1)
    api.put("/v1/contacts/b", {"properties": {"email_type": "business"}})
    assert _stored(api, "b") == (0.0, 1)  # b became business: no new tiny score
    assert _tiny_history(api, "b") == [("publish", 1, "lead")]
    assert api.score("b", "other")["total"] == 5  # the other model goes on

    again = api.post("/v1/models/tiny/unpublish")
    assert again.status_code == 409
    assert "unpublished already; publish a version to restore it" in again.json()["detail"]
    missing = api.post("/v1/models/nope/unpublish")
    assert missing.status_code == 404 and "no model 'nope'" in missing.json()["detail"]

    # publishing the version again (a roll back) rescores everyone and shows it again
    r = api.post("/v1/models/tiny/rollback", {"version": 1})
    assert r.status_code == 200, r.text
    assert r.json()["stage_changes"] == 1  # b, which changed while tiny was archived
    assert _listed(api)["tiny"]["published"] == 1
    assert _listed(api)["tiny"]["archived"] is False
    assert _shown(api, "a") == ["other", "tiny"]
    assert api.score("b", "tiny")["stage"] == "MQL"
    assert _tiny_history(api, "b") == [("publish", 1, "lead"), ("rollback", 1, "MQL")]

    audit = api.get("/v1/audit").json()["items"]
    assert any(e["action"] == "model.unpublish" and e["target"] == "tiny@1" for e in audit)


def test_a_new_version_of_an_unpublished_model_brings_it_back(api):
    api.put("/v1/contacts/a", {"properties": {"email_type": "business"}})
    api.publish_model(TINY)
    assert api.post("/v1/models/tiny/unpublish").status_code == 200
    # a draft of an archived model does not list it again; publishing it does
    draft = api.post("/v1/models", {"yaml": TINY.replace("points: 20", "points: 30")}).json()
    assert "tiny" not in _listed(api)
    r = api.post(f"/v1/models/tiny/versions/{draft['version']}/publish", {})
    assert r.status_code == 200, r.text
    versions = {v["version"]: v["status"] for v in _listed(api)["tiny"]["versions"]}
    assert versions == {1: "archived", 2: "published"}
    assert api.score("a", "tiny")["total"] == 30
    never = api.post("/v1/models", {"yaml": OTHER}).json()  # a draft, never published
    r = api.post(f"/v1/models/{never['name']}/unpublish")
    assert r.status_code == 409
    assert "has no published version: there is nothing to unpublish" in r.json()["detail"]

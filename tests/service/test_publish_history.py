"""A publish or roll back moves stages without anyone doing anything.

Three contacts; ``tiny`` gives 20 points for a business e-mail and makes MQL
from 20. v1 puts a and c in MQL (20 each) and leaves b a lead (0). b then
changes its e-mail type: b enters MQL on its own (cause ``contact``), the one
entry the dashboard counts. v2 raises the bar to 30: a, b and c leave MQL;
rolling back to v1 brings all three back. v3 only renames the rule: every
total, grade and stage stays as it was, so no history row is written for it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from leadscore.store import tables as T
from leadscore.web import queries

from ..web.helpers import TINY_MODEL

V1 = TINY_MODEL  # business e-mail: 20 points; MQL from 20
V2 = V1.replace("gte: 20", "gte: 30")
V3 = V1.replace("name: Business email", "name: Work e-mail")


def _draft(api, text: str) -> int:
    r = api.post("/v1/models", {"yaml": text})
    assert r.status_code == 201, r.text
    return r.json()["version"]


def _publish(api, version: int) -> dict:
    r = api.post(f"/v1/models/tiny/versions/{version}/publish", {})
    assert r.status_code == 200, r.text
    return r.json()


def _history(api, contact: str, **params) -> list[dict]:
    r = api.get(f"/v1/contacts/{contact}/history", params={"model": "tiny", **params})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def _new_mqls_this_week(api) -> int:
    with api.service.store.read() as conn:
        weekly = queries.mqls_per_week(conn, "tiny", ["MQL"], weeks=1)
    return weekly[-1][1]


def test_publish_and_roll_back_count_apart_from_new_mqls(api):
    for cid, kind in (("a", "business"), ("b", "free"), ("c", "business")):
        assert api.put(f"/v1/contacts/{cid}", {"properties": {"email_type": kind}}).status_code
    since = datetime.now(UTC)
    _publish(api, _draft(api, V1))
    assert _new_mqls_this_week(api) == 0  # a and c are MQL by the model, not by anything new
    assert api.put("/v1/contacts/b", {"properties": {"email_type": "business"}}).status_code
    assert _new_mqls_this_week(api) == 1  # b

    v2 = _draft(api, V2)
    assert _publish(api, v2)["stage_changes"] == 3
    r = api.post("/v1/models/tiny/rollback", {"version": 1})
    assert r.status_code == 200, r.text
    assert r.json()["stage_changes"] == 3
    assert _new_mqls_this_week(api) == 1  # before: 1 + 2 (v1) + 3 (the roll back) = 6

    with api.service.store.read() as conn:
        moves = queries.model_moves(conn, "tiny", ["MQL"], since)
    assert [(m["cause"], m["version"], m["entered"], m["left"]) for m in moves] == [
        ("rollback", 1, 3, 0),
        ("publish", 2, 0, 3),
        ("publish", 1, 2, 0),
    ]

    # b's story: first score, its own change, the publish, the roll back; one row each
    assert [(h["cause"], h["old_stage"], h["new_stage"]) for h in _history(api, "b")] == [
        ("publish", None, "lead"),
        ("contact", "lead", "MQL"),
        ("publish", "MQL", "lead"),
        ("rollback", "lead", "MQL"),
    ]
    assert _history(api, "b")[2]["detail"]["previous_version"] == 1

    # a version that scores everyone the same adds no row to anyone's history
    before = {cid: len(_history(api, cid)) for cid in "abc"}
    assert _publish(api, _draft(api, V3)) == {
        **_publish_result_shape(),
        "version": 3,
        "rescored": 3,
        "stage_changes": 0,
    }
    assert {cid: len(_history(api, cid)) for cid in "abc"} == before
    assert api.score("a", "tiny")["version"] == 3  # the current score is the new version's
    with api.service.store.read() as conn:
        n = conn.execute(
            sa.select(sa.func.count())
            .select_from(T.score_history)
            .where(T.score_history.c.version == 3)
        ).scalar_one()
    assert n == 0

    # the history API can leave the model's moves out
    own = _history(api, "b", model_changes="false")
    assert [(h["cause"], h["new_stage"]) for h in own] == [("contact", "MQL")]


def _publish_result_shape() -> dict:
    return {"model": "tiny", "status": "published", "triggers_fired": False, "warnings": []}

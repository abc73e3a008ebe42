"""The dashboard's new MQLs per week leave out what a publish or a roll back moved.

The tiny store (helpers.py): a and c are MQL under v1 (20 points each), b a lead.
v2 makes MQL from 30 (all leave it); rolling back to v1 brings a and c back.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from leadscore.service import versions
from leadscore.web import queries

from .helpers import TINY_MODEL, client, sign_in, tiny_service


@pytest.fixture
def svc(tmp_path):
    s = tiny_service(f"sqlite:///{tmp_path / 'store.db'}")
    yield s
    s.store.dispose()


def _this_week(html: str) -> float:
    label = f"{queries.week_start(datetime.now(UTC)):%d %b}"
    return float(re.search(rf"<title>{label}: ([0-9.]+)</title>", html).group(1))


def test_publish_then_roll_back_leaves_new_mqls_as_they_were(svc):
    c = client(svc)
    sign_in(c, "viewer")
    html = c.get("/dashboard").text
    assert _this_week(html) == 0  # a and c became MQL by the first publish, not by themselves
    assert "Publishing v1 (" in html and "): 2 in, 0 out" in html

    v2 = versions.create_draft(svc, TINY_MODEL.replace("gte: 20", "gte: 30"), {}, "test")
    versions.publish(svc, "tiny", v2["version"], "test", fire_triggers=False)
    versions.rollback(svc, "tiny", 1, "test", fire_triggers=False)
    html = c.get("/dashboard").text
    assert _this_week(html) == 0  # was 2 + 2 before the roll back was counted apart
    moves = re.findall(r"<li>(Publishing|Rolling back to) v(\d) \([^)]*\): (\d) in, (\d) out", html)
    assert moves == [
        ("Rolling back to", "1", "2", "0"),
        ("Publishing", "2", "0", "2"),
        ("Publishing", "1", "2", "0"),
    ]


def test_the_trigger_table_shows_the_published_models_only(svc):
    from leadscore.store import tables as T

    now = datetime.now(UTC)
    with svc.store.write() as conn:
        conn.execute(
            sa.insert(T.deliveries),
            [
                {"key": f"k{i}", "model_name": model, "trigger": "Tell sales", "contact_id": "a",
                 "crossing": 1, "action_index": 0, "kind": "webhook", "target": "http://x.test/",
                 "payload": {}, "status": "delivered", "attempts": 1, "next_attempt_at": now,
                 "created_at": now}
                for i, model in enumerate(["tiny", "tiny", "gone"])
            ],
        )  # fmt: skip
    with svc.store.read() as conn:
        assert queries.deliveries_by_trigger(conn) == [
            {"model": "tiny", "trigger": "Tell sales", "pending": 0, "delivered": 2, "dead": 0}
        ]
    versions.unpublish(svc, "tiny", "test")
    with svc.store.read() as conn:
        assert queries.deliveries_by_trigger(conn) == []


def test_the_leads_lists_entered_filter_leaves_out_a_publishs_moves(svc):
    c = client(svc)
    sign_in(c, "viewer")

    def entered_this_week() -> list[str]:
        page = c.get("/leads.csv?model=tiny&stage=MQL&entered=week").text
        return sorted(line.split(",")[0] for line in page.splitlines()[1:])

    assert entered_this_week() == []  # a and c are MQL because v1 was published
    v2 = versions.create_draft(svc, TINY_MODEL.replace("gte: 20", "gte: 30"), {}, "test")
    versions.publish(svc, "tiny", v2["version"], "test", fire_triggers=False)
    versions.rollback(svc, "tiny", 1, "test", fire_triggers=False)
    assert entered_this_week() == []  # the roll back moved them, nobody did anything
    assert "MQL" in c.get("/leads.csv?model=tiny&stage=MQL").text  # they are MQL, listed

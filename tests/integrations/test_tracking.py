"""Tracking: the identity merge as pure functions, the collect endpoint, the script."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from leadscore.integrations import InMemorySink
from leadscore.integrations.config import config_from_text
from leadscore.integrations.router import build_router
from leadscore.integrations.tracking import Hit, hits_to_events, plan_identify

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def hit(n: int, minutes: int, url: str = "/", visitor: str = "visitor-a") -> Hit:
    return Hit(visitor, f"hit-{n:04d}", "page_view", T0 + timedelta(minutes=minutes), {"url": url})


def test_first_identification_moves_the_waiting_history_in_time_order_once_each():
    waiting = [hit(2, 5, "/pricing"), hit(1, 0, "/"), hit(2, 5, "/pricing"), hit(3, 9, "/demo")]
    plan = plan_identify(None, " Ann@Acme.Example", waiting)
    assert plan.outcome == "linked" and plan.link_to == "ann@acme.example"
    assert [(e.event_id, e.attributes["url"], e.ts) for e in plan.events] == [
        ("t:hit-0001", "/", T0),
        ("t:hit-0002", "/pricing", T0 + timedelta(minutes=5)),
        ("t:hit-0003", "/demo", T0 + timedelta(minutes=9)),
    ]
    assert all(e.email == "ann@acme.example" and e.type == "page_view" for e in plan.events)
    assert plan.events[0].attributes["visitor_id"] == "visitor-a"


def test_identifying_again_as_the_same_contact_changes_nothing():
    plan = plan_identify("ann@acme.example", "ANN@acme.example", [])
    assert (plan.outcome, plan.link_to, plan.events) == ("already-linked", None, ())


def test_a_new_email_on_a_linked_browser_relinks_and_leaves_history_with_the_first_contact():
    plan = plan_identify("ann@acme.example", "bob@acme.example", [hit(7, 1)])
    assert plan.outcome == "relinked" and plan.link_to == "bob@acme.example"
    assert [e.email for e in plan.events] == ["ann@acme.example"]


def test_hits_to_events_is_deterministic_on_equal_times():
    a, b = hit(9, 0), hit(8, 0)
    assert [e.event_id for e in hits_to_events([a, b], "x@y.io")] == ["t:hit-0008", "t:hit-0009"]


CONFIG = """
tracking: {consent_required: %s, max_pending_hits: 3}
"""


def client(consent_required=False):
    sink = InMemorySink()
    api = FastAPI()
    config = config_from_text(CONFIG % ("true" if consent_required else "false"))
    clock = {"t": T0}

    def now():
        clock["t"] += timedelta(seconds=1)
        return clock["t"]

    api.include_router(build_router(config, sink, now=now))
    return TestClient(api), sink


def send(c, **hit):
    body = {"v": "visitor-0001", "consent": True, **hit}
    return c.post("/t", content=json.dumps(body), headers={"Content-Type": "text/plain"})


def test_anonymous_views_wait_then_become_the_contacts_on_form_submit():
    c, sink = client()
    assert send(c, t="page_view", id="h0000001", u="https://x.example/").json() == {
        "status": "waiting"
    }
    send(c, t="page_view", id="h0000002", u="https://x.example/pricing")
    assert sink.events == []
    r = send(c, t="form_submit", id="h0000003", u="https://x.example/demo", f="demo",
             e="Ann@Acme.example")  # fmt: skip
    assert r.status_code == 202 and r.json() == {"status": "identified"}  # no data leaks
    assert [(e.type, e.email, e.attributes.get("url")) for e in sink.events] == [
        ("page_view", "ann@acme.example", "https://x.example/"),
        ("page_view", "ann@acme.example", "https://x.example/pricing"),
        ("form_submit", "ann@acme.example", "https://x.example/demo"),
    ]
    assert sink.events[2].attributes["form_id"] == "demo"
    assert sink.events[0].ts < sink.events[1].ts < sink.events[2].ts
    # later hits of the same browser go straight to the contact
    assert send(c, t="page_view", id="h0000004", u="https://x.example/blog").json() == {
        "status": "recorded"
    }
    assert sink.events[-1].email == "ann@acme.example"


def test_only_the_newest_hits_wait_per_visitor():
    c, sink = client()
    for i in range(5):
        send(c, t="page_view", id=f"h000000{i}", u=f"/p{i}")
    send(c, t="form_submit", id="h0000009", e="a@b.io")
    assert [e.attributes.get("url") for e in sink.events] == ["/p2", "/p3", "/p4", None]


def test_do_not_track_and_missing_consent_store_nothing():
    c, sink = client(consent_required=True)
    r = c.post(
        "/t",
        content=json.dumps({"t": "form_submit", "v": "visitor-0001", "id": "h0000001",
                            "e": "a@b.io", "consent": True}),
        headers={"DNT": "1"},
    )  # fmt: skip
    assert r.json() == {"status": "ignored"}
    assert send(c, t="form_submit", id="h0000002", e="a@b.io", consent=False).json() == {
        "status": "ignored"
    }
    c2, sink2 = client()
    r = c2.post("/t", content=json.dumps({"t": "page_view", "v": "visitor-0001", "id": "h1234567"}),
                headers={"Sec-GPC": "1"})  # fmt: skip
    assert r.json() == {"status": "ignored"}
    assert sink.events == [] and sink2.events == []


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        json.dumps({"t": "purchase", "v": "visitor-0001", "id": "h0000001"}).encode(),
        json.dumps({"t": "page_view", "v": "x", "id": "h0000001"}).encode(),
        json.dumps({"t": "page_view", "v": "visitor-0001", "id": "h0000001", "u": 5}).encode(),
    ],
    ids=["not-json", "unknown-type", "short-visitor-id", "url-not-text"],
)
def test_malformed_hits_are_refused(body):
    c, sink = client()
    r = c.post("/t", content=body)
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    assert sink.events == []


def test_the_script_is_served_and_honours_dnt_and_consent():
    c, _ = client()
    r = c.get("/t.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/javascript")
    js = r.text
    assert "doNotTrack" in js and "globalPrivacyControl" in js
    assert 'opt.consent === "required"' in js and "sendBeacon" in js
    assert len(js.encode()) < 6000  # small


def test_a_hit_that_races_the_identification_still_reaches_the_contact():
    from leadscore.integrations.config import TrackingConfig
    from leadscore.integrations.tracking import InMemoryVisitorStore, Tracker

    sink, store = InMemorySink(), InMemoryVisitorStore()
    tracker = Tracker(TrackingConfig(), store, sink, now=lambda: T0)

    class RacingSink:
        """While the merge is being stored, another tab's page view arrives."""

        def __init__(self):
            self.raced = False

        def ingest(self, events):
            if not self.raced:
                self.raced = True
                store.add_waiting(hit(5, 3, "/other-tab", visitor="visitor-0001"), 10)
            return sink.ingest(events)

        def upsert_contacts(self, contacts):
            return []

    tracker.sink = RacingSink()
    tracker.collect({"t": "page_view", "v": "visitor-0001", "id": "h0000001", "u": "/"}, {})
    out = tracker.collect(
        {"t": "form_submit", "v": "visitor-0001", "id": "h0000002", "e": "a@b.io"}, {}
    )
    assert out["merged"] == 2
    assert sorted(e.attributes.get("url", "") for e in sink.events) == ["", "/", "/other-tab"]
    assert store.stats()["waiting_hits"] == 0


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_visitor_stores_keep_the_newest_waiting_hits_and_drop_merged_ones(kind, tmp_path):
    from leadscore.integrations.tracking import InMemoryVisitorStore
    from leadscore.integrations.tracking.sqlite_store import SqliteVisitorStore

    store = InMemoryVisitorStore() if kind == "memory" else SqliteVisitorStore(tmp_path / "v.db")
    for i in range(5):
        store.add_waiting(hit(i, i), limit=3)
    store.add_waiting(hit(4, 4), limit=3)  # a retried hit is kept once
    assert [h.hit_id for h in store.waiting("visitor-a")] == ["hit-0002", "hit-0003", "hit-0004"]
    assert store.waiting("visitor-a")[0].attributes == {"url": "/"}
    store.link("visitor-a", "ann@acme.example", ["hit-0002", "hit-0003"])
    assert store.contact_of("visitor-a") == "ann@acme.example"
    assert [h.hit_id for h in store.waiting("visitor-a")] == ["hit-0004"]
    assert store.stats() == {"linked": 1, "waiting_visitors": 1, "waiting_hits": 1}
    if kind == "sqlite":
        store.close()
        again = SqliteVisitorStore(tmp_path / "v.db")  # survives a restart
        assert again.contact_of("visitor-a") == "ann@acme.example"
        assert again.waiting("visitor-a")[0].ts == T0 + timedelta(minutes=4)
        again.close()

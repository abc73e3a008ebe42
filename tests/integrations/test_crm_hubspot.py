"""HubSpot connector against the local fake: batching, change detection, 429 storms, auth."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta

import pytest

from leadscore.integrations.config import HubSpotConfig
from leadscore.integrations.crm import CrmSync, ScoreUpdate, SyncLog, SyncState
from leadscore.integrations.crm.hubspot import HubSpotConnector, client_for
from leadscore.integrations.http import CrmAuthError

from .fakes import FakeClock, FakeHubSpot

T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture()
def hub():
    with FakeHubSpot() as server:
        yield server


def connector(server, clock=None, **cfg):
    config = HubSpotConfig(base_url=server.url, **cfg)
    return HubSpotConnector(config, client_for(config, server.token, clock=clock or FakeClock()))


def upd(i: int, total: float, *, minutes: int = 0, stage=None, grade=None, reasons=()):
    return ScoreUpdate(
        contact_id=f"c{i}",
        email=f"lead{i}@acme.example",
        total=total,
        at=T0 + timedelta(minutes=minutes),
        grade=grade,
        stage=stage,
        reasons=tuple(reasons),
    )


def test_changed_scores_are_written_in_batches_of_100_with_formatted_values(hub):
    sync = CrmSync(connector(hub))
    updates = [upd(i, 10 + i / 4, stage="MQL" if i % 2 else None, grade="B") for i in range(250)]
    updates[0] = upd(0, 55.0, stage="MQL", grade="A", reasons=["Demo request +40", "CEO +15"])
    report = sync.push(updates)
    assert (report.written, report.batches, report.failed) == (250, 3, 0)
    posts = [r for r in hub.requests if r["method"] == "POST"]
    assert [len(r["body"]["inputs"]) for r in posts] == [100, 100, 50]
    first = next(i for i in posts[0]["body"]["inputs"] if i["id"] == "lead0@acme.example")
    assert first == {
        "idProperty": "email",
        "id": "lead0@acme.example",
        "properties": {
            "leadscore_score": "55",
            "leadscore_grade": "A",
            "leadscore_stage": "MQL",
            "leadscore_reasons": "Demo request +40; CEO +15",
        },
    }
    # 10 + 3/4 = 10.75 is shown with one decimal
    assert hub.contacts[hub._by_email("lead3@acme.example")]["leadscore_score"] == "10.8"


def test_unchanged_scores_are_not_sent_again(hub, tmp_path):
    state = SyncState(tmp_path / "state.json")
    CrmSync(connector(hub), state=state).push([upd(1, 20), upd(2, 30)])
    n = len(hub.requests)
    again = CrmSync(connector(hub), state=SyncState(tmp_path / "state.json"))
    report = again.push([upd(1, 20), upd(2, 31)])
    assert (report.unchanged, report.written) == (1, 1)
    sent = hub.requests[n:]
    assert len(sent) == 1 and [i["id"] for i in sent[0]["body"]["inputs"]] == ["lead2@acme.example"]


def test_a_429_storm_is_ridden_out_with_every_contact_written_once_with_its_latest_values(hub):
    rng = random.Random(7)
    retry_afters: list[float] = []

    def chaos(n: int):
        roll = rng.random()
        if roll < 0.6:
            wait = rng.choice([1, 2, 3])
            retry_afters.append(wait)
            return 429, {"Retry-After": str(wait)}
        if roll < 0.7:
            return 503, {}
        return None

    hub.chaos = chaos
    clock = FakeClock()
    log = SyncLog()
    # 300 contacts, each updated three times; the last update must win.
    updates = [upd(i, v * 10 + i % 7, minutes=v) for v in (1, 3, 2) for i in range(300)]
    report = CrmSync(connector(hub, clock, max_attempts=40), log=log).push(updates)
    assert report.written == 300 and report.failed == 0 and report.pending == 0
    assert len(retry_afters) >= 5  # it really was a storm
    for i in range(300):
        cid = hub._by_email(f"lead{i}@acme.example")
        assert hub.writes[cid] == [
            {
                "leadscore_score": str(30 + i % 7),
                "leadscore_grade": "",
                "leadscore_stage": "",
                "leadscore_reasons": "",
            }
        ]
    # every Retry-After was honoured, in order, before the next try
    waits = [s for s in clock.sleeps if s in (1.0, 2.0, 3.0)]
    assert waits[: len(retry_afters)] == [float(x) for x in retry_afters]
    assert log.counts() == {"hubspot.written": 300}


def test_retry_after_longer_than_allowed_stops_and_the_next_run_resumes(hub):
    state = SyncState()
    first = CrmSync(connector(hub, batch_size=10), state=state)
    updates = [upd(i, 40) for i in range(30)]
    # the first batch goes through, then HubSpot asks for a 10-minute pause
    hub.chaos = lambda n: (429, {"Retry-After": "600"}) if n == 2 else None
    report = first.push(updates)
    assert report.written == 10 and report.failed == 10 and report.pending == 10
    assert "600" in report.stopped and "max_retry_after_s" in report.stopped
    hub.chaos = None
    second = CrmSync(connector(hub, batch_size=10), state=state).push(updates)
    assert (second.written, second.unchanged) == (20, 10)
    assert all(len(w) == 1 for w in hub.writes.values()) and len(hub.writes) == 30


def test_update_by_hubspot_id_reports_unknown_ids_per_contact(hub):
    known = hub.add_contact(email="a@acme.example")
    sync = CrmSync(connector(hub, match_on="id"))
    ups = [
        ScoreUpdate("c1", 50, T0, external_id=known),
        ScoreUpdate("c2", 60, T0, external_id="999999"),
        ScoreUpdate("c3", 70, T0),
    ]
    report = sync.push(ups)
    assert (report.written, report.failed) == (1, 2)
    assert hub.contacts[known]["leadscore_score"] == "50"
    errors = {e["contact_id"]: e["error"] for e in sync.log.entries(status="failed")}
    assert errors["c2"] == "Object not found" and "hubspot_id" in errors["c3"]


def test_a_missing_property_is_reported_with_hubspots_message(hub):
    sync = CrmSync(connector(hub, properties={"score": "lead_points"}))
    report = sync.push([upd(1, 10)])
    assert report.failed == 1 and 'Property "lead_points" does not exist' in report.errors[0]


def test_a_bad_token_fails_fast_and_never_shows_the_token(hub, caplog):
    config = HubSpotConfig(base_url=hub.url)
    bad = "pat-na1-0000-very-secret"
    conn = HubSpotConnector(config, client_for(config, bad, clock=FakeClock()))
    hub.fail_next(503)
    with caplog.at_level(logging.DEBUG), pytest.raises(CrmAuthError) as err:
        CrmSync(conn).push([upd(1, 10)])
    assert "401" in str(err.value) and "token" in str(err.value)
    assert bad not in str(err.value) and bad not in caplog.text
    assert len(hub.requests) == 2  # one 503 retried, then the 401: no more tries


def test_import_follows_after_paging_and_maps_properties_and_events(hub):
    hub.page_cap = 2
    ids = [
        hub.add_contact(email=f"p{i}@acme.example", firstname=f"P{i}", jobtitle="CTO")
        for i in range(5)
    ]
    hub.events[ids[0]] = [
        {"id": "e1", "eventType": "e_visited_page", "objectId": ids[0], "objectType": "contact",
         "occurredAt": "2026-02-01T10:00:00Z", "properties": {"hs_url": "https://x.example/pricing"}},
        {"id": "e2", "eventType": "e_unknown_thing", "objectId": ids[0], "objectType": "contact",
         "occurredAt": "2026-02-01T11:00:00Z", "properties": {}},
        {"id": "e3", "eventType": "e_submitted_form", "objectId": ids[0], "objectType": "contact",
         "occurredAt": "2026-02-02T09:00:00Z", "properties": {"hs_form_id": "demo"}},
    ]  # fmt: skip
    hub.email_events = [
        {"id": "m1", "created": 1769940000000, "type": "OPEN", "recipient": "p1@acme.example",
         "emailCampaignId": 77, "portalId": 1},
        {"id": "m2", "created": 1769940060000, "type": "CLICK", "recipient": "P1@acme.example",
         "url": "https://x.example/pricing", "emailCampaignId": 77, "portalId": 1},
        {"id": "m3", "created": 1769940000000, "type": "OPEN", "recipient": "stranger@x.example"},
        {"id": "m4", "created": 1769940000000, "type": "FORWARD", "recipient": "p1@acme.example"},
    ]  # fmt: skip
    conn = connector(hub)
    contacts = list(conn.contacts())
    assert [c.email for c in contacts] == [f"p{i}@acme.example" for i in range(5)]
    assert contacts[0].properties == {
        "email": "p0@acme.example",
        "first_name": "P0",
        "job_title": "CTO",
        "hubspot_id": ids[0],
    }
    pages = [r for r in hub.requests if r["path"] == "/crm/v3/objects/contacts"]
    assert [r["query"].get("after") for r in pages] == [None, ids[1], ids[3]]
    events = list(conn.events(contacts[:1]))
    assert [(e.type, e.event_id, e.attributes) for e in events] == [
        ("page_view", "hubspot:e1", {"url": "https://x.example/pricing"}),
        ("form_submit", "hubspot:e3", {"form_id": "demo"}),
    ]
    assert events[0].ts == datetime(2026, 2, 1, 10, tzinfo=UTC)
    # marketing e-mail events: only imported recipients, paged by offset, mapped types
    mail = list(conn.events(contacts[1:2]))
    assert [(e.type, e.email, e.event_id, e.attributes) for e in mail] == [
        ("email_open", "p1@acme.example", "hubspot-email:m1", {"campaign": "77"}),
        ("email_click", "p1@acme.example", "hubspot-email:m2",
         {"url": "https://x.example/pricing", "campaign": "77"}),
    ]  # fmt: skip
    assert mail[0].ts == datetime(2026, 2, 1, 10, tzinfo=UTC)
    offsets = [r["query"].get("offset") for r in hub.requests if r["path"].startswith("/email")]
    assert offsets == [None, "2", None, "2"]  # two imports, two pages each

"""Accounts in the service, on SQLite and PostgreSQL: linking, roll-ups kept current by
every write path, account triggers once per crossing, the account list, page and
history, and stored scores that always equal a rescoring from scratch."""

from __future__ import annotations

import random

import pytest

from leadscore.engine.accounts import score_population

from .helpers import Receiver

MODEL = """\
name: abm
groups:
  fit:
    rules:
      - {{name: A account, when: {{account.grade: A}}, points: 10}}
      - {{name: MQA account, when: {{account.stage: MQA}}, points: 5}}
  engagement:
    rules:
      - {{name: Visits, on: {{type: page_view}}, points: 10}}
exclusions:
  - {{name: Student, when: {{job_title: Student}}}}
thresholds: [{{stage: MQL, when: {{total: {{gte: 30}}}}}}]
account:
  groups:
    fit: {{rules: [{{name: Software, when: {{industry: Software}}, points: 20}}]}}
    team:
      rules:
        - {{name: Team, rollup: sum, of: engagement}}
        - {{name: Engaged, rollup: count, where: {{engagement: {{gte: 20}}}}, points: 3}}
  grades: {{fit: {{A: 20}}}}
  thresholds: [{{stage: MQA, when: {{total: {{gte: 50}}}}}}]
  triggers:
    - name: Account is MQA
      on: {{enters: MQA}}
      actions: [{{webhook: {{url: "{url}"}}}}]
"""


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def setup(api, receiver) -> None:
    r = api.put(
        "/v1/accounts/acme",
        {"domain": "https://www.Acme.com/", "properties": {"industry": "Software"}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["created"] is True
    assert api.put("/v1/accounts/beta", {"domain": "beta.io"}).status_code == 200
    for cid, body in {
        "c1": {"email": "ann@acme.com"},
        "c2": {"email": "bob@ACME.com"},
        "c3": {"email": "cat@gmail.com"},
        "c4": {"email": "dan@acme.com", "properties": {"account_id": "beta"}},
    }.items():
        assert api.put(f"/v1/contacts/{cid}", body).status_code == 200
    api.publish_model(MODEL.format(url=receiver.url))


def account(api, aid: str = "acme") -> dict:
    r = api.get(f"/v1/accounts/{aid}")
    assert r.status_code == 200, r.text
    return r.json()


def test_links_domain_explicit_and_never_free_mail(api, receiver):
    setup(api, receiver)
    assert api.get("/v1/contacts/c1").json()["account_id"] == "acme"  # domain, any case
    assert api.get("/v1/contacts/c2").json()["account_id"] == "acme"
    assert api.get("/v1/contacts/c3").json()["account_id"] is None  # free mail
    assert api.get("/v1/contacts/c4").json()["account_id"] == "beta"  # explicit wins
    assert account(api)["domain"] == "acme.com"
    assert account(api)["contacts"] == 2
    members = api.get("/v1/accounts/acme/contacts").json()
    assert [(m["id"], m["linked_by"]) for m in members["items"]] == [
        ("c1", "domain"),
        ("c2", "domain"),
    ]


def test_bad_account_input_is_refused_with_the_fix(api):
    r = api.put("/v1/accounts/g", {"domain": "gmail.com"})
    assert r.status_code == 422 and "free-mail" in r.json()["detail"]
    assert "account_id" in r.json()["detail"]
    r = api.put("/v1/accounts/x", {"domain": "not a domain"})
    assert r.status_code == 422 and "is not a domain" in r.json()["detail"]
    assert api.put("/v1/accounts/a", {"domain": "acme.com"}).status_code == 200
    r = api.put("/v1/accounts/b", {"domain": "www.acme.com"})
    assert r.status_code == 409 and "already belongs to account 'a'" in r.json()["detail"]
    r = api.put("/v1/accounts/c", {"properties": {"domain": "c.example"}})
    assert r.status_code == 422 and "a field of the account" in r.json()["detail"]
    r = api.post("/v1/accounts/batch", {"accounts": [{"id": "d"}, {"id": "d"}]})
    assert r.status_code == 422 and "given twice" in r.json()["detail"]
    assert api.get("/v1/accounts/nope").status_code == 404


def test_roll_ups_follow_events_and_contacts_read_the_account(api, receiver):
    setup(api, receiver)
    assert account(api)["scores"][0]["total"] == 20  # fit only
    api.event("c1", "page_view")
    api.event("c2", "page_view")
    assert account(api)["scores"][0]["total"] == 40
    api.event("c1", "page_view")  # c1 20, c2 10: team 30 + 3 engaged = 33; +fit 20 = 53
    acme = account(api)["scores"][0]
    assert (acme["total"], acme["stage"], acme["groups"]) == (53, "MQA", {"fit": 20, "team": 33})
    # both contacts read the account's stage: 10 (A account) + 5 (MQA), though only c1 acted
    assert api.score("c1", "abm")["groups"] == {"fit": 15, "engagement": 20}
    assert api.score("c2", "abm")["groups"] == {"fit": 15, "engagement": 10}
    assert api.score("c3", "abm")["groups"] == {"fit": 0, "engagement": 0}
    history = api.get("/v1/accounts/acme/history").json()["items"]
    assert [(h["cause"], h["new_total"]) for h in history] == [
        ("publish", 20),
        ("event", 30),
        ("event", 40),
        ("event", 53),
    ]
    contributors = api.get("/v1/accounts/acme/contacts").json()["items"]
    assert [(m["id"], m["contribution"]) for m in contributors] == [("c1", 23), ("c2", 10)]
    breakdown = {h["rule"]: h for h in acme_breakdown(api)}
    assert breakdown["Team"]["contributions"] == [
        {"contact_id": "c1", "points": 20.0, "detail": "engagement 20"},
        {"contact_id": "c2", "points": 10.0, "detail": "engagement 10"},
    ]


def acme_breakdown(api) -> list[dict]:
    return account(api)["scores"][0]["breakdown"]


def test_account_trigger_fires_once_per_crossing(api, receiver):
    setup(api, receiver)
    for _ in range(3):
        api.event("c1", "page_view")
    api.event("c2", "page_view")  # still MQA: no second delivery
    api.deliver()
    assert len(receiver.received) == 1
    payload = receiver.received[0]["json"]
    assert payload["trigger"] == "Account is MQA"
    assert payload["account"]["id"] == "acme" and payload["account"]["contacts"] == 2
    assert payload["account"]["top_contacts"][0] == {"id": "c1", "points": 33.0}
    assert payload["score"]["stage"] == "MQA"
    deliveries = api.get("/v1/deliveries", params={"account_id": "acme"}).json()["items"]
    assert [(d["key"], d["contact_id"]) for d in deliveries] == [
        ("abm:Account is MQA:account:acme:1:0", None)
    ]
    # the account drops out of MQA (c1 deleted), then comes back: a second crossing
    assert api.delete("/v1/contacts/c1").status_code == 204
    assert account(api)["scores"][0]["stage"] is None
    for _ in range(3):
        api.event("c2", "page_view")
    api.deliver()
    assert [r["json"]["crossing"] for r in receiver.received] == [1, 2]


def test_account_changes_reach_the_contacts(api, receiver):
    setup(api, receiver)
    assert api.score("c1", "abm")["groups"]["fit"] == 10  # at an A account
    r = api.put("/v1/accounts/acme", {"properties": {"industry": "Retail"}})
    assert r.json()["scores"]["abm"]["grade"] == "D"
    assert api.score("c1", "abm")["groups"]["fit"] == 0
    # a domain change moves its contacts: acme's e-mail contacts leave it
    api.put("/v1/accounts/acme", {"domain": "acme.org", "properties": {"industry": "Software"}})
    assert account(api)["contacts"] == 0
    assert api.get("/v1/contacts/c1").json()["account_id"] is None
    assert api.score("c1", "abm")["groups"]["fit"] == 0


def test_contacts_moving_between_accounts(api, receiver):
    setup(api, receiver)
    api.event("c1", "page_view")
    assert account(api)["scores"][0]["groups"]["team"] == 10
    api.put("/v1/contacts/c1", {"email": "ann@beta.io"})  # by domain to beta now
    assert account(api)["scores"][0]["groups"]["team"] == 0
    assert account(api, "beta")["scores"][0]["groups"]["team"] == 10
    assert account(api, "beta")["contacts"] == 2
    api.put("/v1/contacts/c1", {"properties": {"account_id": "acme"}})  # explicit wins
    assert account(api)["scores"][0]["groups"]["team"] == 10
    assert account(api, "beta")["scores"][0]["groups"]["team"] == 0


def test_deleting_an_account_rescores_its_contacts(api, receiver):
    setup(api, receiver)
    assert api.delete("/v1/accounts/acme").status_code == 204
    assert api.get("/v1/accounts/acme").status_code == 404
    assert api.get("/v1/contacts/c1").json()["account_id"] is None
    assert api.score("c1", "abm")["groups"]["fit"] == 0


def test_adjustments_reach_the_roll_ups(api, receiver):
    # the highest total of the account's contacts (no contact rule reads a rolled-up score)
    model = (
        MODEL.format(url=receiver.url)
        .replace("rollup: sum, of: engagement", "rollup: max, of: total")
        .replace("      - {name: MQA account, when: {account.stage: MQA}, points: 5}\n", "")
    )
    setup(api, receiver)
    api.publish_model(model)
    r = api.post("/v1/contacts/c2/adjustments", {"points": 12, "reason": "met at a fair"})
    assert r.status_code == 201, r.text
    # c2: A account 10 + 12 by hand = 22, the highest total of the account
    assert account(api)["scores"][0]["groups"]["team"] == 22


def test_account_list_sorted_by_score_and_filtered(api, receiver):
    setup(api, receiver)
    for _ in range(3):
        api.event("c1", "page_view")
    page = api.get("/v1/accounts").json()
    assert [(a["id"], a["score"]["total"], a["contacts"]) for a in page["items"]] == [
        ("acme", 53, 2),
        ("beta", 0, 1),
    ]
    assert [a["id"] for a in api.get("/v1/accounts", params={"stage": "MQA"}).json()["items"]] == [
        "acme"
    ]
    assert [a["id"] for a in api.get("/v1/accounts", params={"q": "beta"}).json()["items"]] == [
        "beta"
    ]
    r = api.get("/v1/accounts", params={"model": "nope"})
    assert r.status_code == 404 and "scores accounts" in r.json()["detail"]


def test_past_scores_and_tests_on_a_contact_score_the_account_too(api, receiver):
    setup(api, receiver)
    for _ in range(3):
        api.event("c1", "page_view", ts="2026-01-01T00:00:00Z")
    past = api.get("/v1/contacts/c2/scores", params={"as_of": "2025-12-31T00:00:00Z"}).json()
    assert past["scores"][0]["groups"] == {"fit": 10, "engagement": 0}  # acme not MQA then
    now = api.get("/v1/contacts/c2/scores", params={"as_of": "2026-01-02T00:00:00Z"}).json()
    assert now["scores"][0]["groups"] == {"fit": 15, "engagement": 0}
    r = api.post("/v1/models/abm/versions/1/test", {"contact_id": "c2"})
    assert r.status_code == 200 and r.json()["groups"] == {"fit": 15, "engagement": 0}


def test_a_version_without_accounts_leaves_no_account_scores(api, receiver):
    setup(api, receiver)
    plain = "name: abm\ngroups:\n  fit:\n    rules:\n      - {name: F, when: {a: b}, points: 5}\n"
    api.publish_model(plain)
    assert account(api)["scores"] == []
    page = api.get("/v1/accounts").json()  # still listed, with no score
    assert [(a["id"], a["score"]) for a in page["items"]] == [("acme", None), ("beta", None)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stored_scores_equal_a_rescoring_from_scratch(api, receiver, seed):
    """Random writes through every path; after each one, every stored contact and
    account score is what the in-process reference gives for the whole population."""
    setup(api, receiver)
    # an account reaches MQA at 30 here: crossings back and forth are frequent
    easier = MODEL.format(url=receiver.url).replace("{total: {gte: 50}}", "{total: {gte: 30}}")
    api.publish_model(easier)
    rng = random.Random(seed)
    emails = ["{}@acme.com", "{}@beta.io", "{}@gmail.com", "{}@acme.com"]
    people = ["c1", "c2", "c3", "c4", "c5", "c6"]
    for step in range(80):
        op = rng.choices(
            ["event", "contact", "account", "adjust", "delete"], weights=[10, 4, 3, 2, 1]
        )[0]
        cid = rng.choice(people)
        if op == "event":
            api.client.post(
                "/v1/events",
                json={"contact_id": cid, "type": "page_view", "ts": "2026-01-01T00:00:00Z"},
                headers=api.h(),
            )
        elif op == "contact":
            props = {"account_id": rng.choice([None, "acme", "beta", "gone"])}
            if rng.random() < 0.2:
                props["job_title"] = "Student"
            body = {"email": rng.choice(emails).format(cid), "properties": props}
            assert api.put(f"/v1/contacts/{cid}", body).status_code in (200, 409)
        elif op == "account":
            industry = rng.choice(["Software", "Retail"])
            api.put(
                f"/v1/accounts/{rng.choice(['acme', 'beta'])}",
                {"properties": {"industry": industry}},
            )
        elif op == "adjust":
            api.post(
                f"/v1/contacts/{cid}/adjustments",
                {"points": rng.choice([5, -5]), "reason": f"r{step}"},
            )
        elif op == "delete":
            api.delete(f"/v1/contacts/{cid}")
        assert_matches_reference(api, f"step {step}: {op} {cid}")


def assert_matches_reference(api, after: str = "") -> None:
    """The model's roll-ups read groups (which manual adjustments leave alone), so the
    reference over the stored contacts, events and accounts must give every stored
    account score, and every contact score once its adjustments are added."""
    import sqlalchemy as sa

    from leadscore.service.accounts import account_record
    from leadscore.service.scoring import apply_adjustments, contact_record, load_inputs, to_events
    from leadscore.store import tables as T

    svc = api.service
    with svc.store.read() as conn:
        model = next(p for p in svc.published(conn) if p.name == "abm").model
        ids = sorted(conn.execute(sa.select(T.contacts.c.id)).scalars())
        contacts, events, adjustments = load_inputs(conn, ids)
        accounts = [account_record(r) for r in conn.execute(sa.select(T.accounts))]
        stored = {
            r.contact_id: r
            for r in conn.execute(sa.select(T.scores).where(T.scores.c.model_name == "abm"))
        }
        stored_acc = {r.account_id: r for r in conn.execute(sa.select(T.account_scores))}
    people = [(contact_record(contacts[c]), to_events(events.get(c, []))) for c in ids]
    when = max(r.scored_at for r in stored.values())
    pop = score_population(model, people, accounts, as_of=when)
    assert sorted(stored) == ids
    for r in pop.contacts:
        adj = apply_adjustments(model, r, adjustments.get(r.contact_id, []))
        row = stored[r.contact_id]
        assert (row.total, row.stage, row.groups) == (
            pytest.approx(adj.total),
            adj.stage,
            r.groups,
        ), f"{after}: contact {r.contact_id}"
    assert sorted(stored_acc) == [a.account_id for a in pop.accounts]
    for a in pop.accounts:
        row = stored_acc[a.account_id]
        assert (row.total, row.stage, row.groups, row.contacts) == (
            pytest.approx(a.total),
            a.stage,
            a.groups,
            a.contacts,
        ), f"{after}: account {a.account_id}"


DECAYING = """\
name: abm
groups:
  engagement:
    decay: {{half_life: 10d}}
    rules:
      - {{name: Visits, on: {{type: page_view}}, points: 40}}
account:
  groups:
    team: {{rules: [{{name: Team, rollup: sum, of: engagement}}]}}
  triggers:
    - name: Warm for a week
      on: {{holds: {{total: {{gte: 10}}}}, for: 7d}}
      actions: [{{webhook: {{url: "{url}"}}}}]
"""


def test_the_sweep_keeps_account_scores_true_as_time_passes(api, receiver):
    from datetime import timedelta

    from leadscore.service.core import utcnow

    assert api.put("/v1/accounts/acme", {"domain": "acme.com"}).status_code == 200
    assert api.put("/v1/contacts/c1", {"email": "ann@acme.com"}).status_code == 200
    api.publish_model(DECAYING.format(url=receiver.url))
    now = utcnow()
    api.event("c1", "page_view", ts=now.isoformat())
    assert account(api)["scores"][0]["total"] == pytest.approx(40, abs=0.01)
    # ten days on, the sweep halves the contact's engagement, and so the account's
    api.service.sweep(now=now + timedelta(days=10))
    assert account(api)["scores"][0]["total"] == pytest.approx(20, abs=0.01)
    assert api.score("c1", "abm")["total"] == pytest.approx(20, abs=0.01)
    assert account(api)["scores"][0]["contacts"] == 1
    history = api.get("/v1/accounts/acme/history").json()["items"]
    assert history[-1]["cause"] == "time"
    # the account held 10 or more since the event: a sweep past seven days fires it
    api.service.sweep(now=now + timedelta(days=11))
    api.deliver()
    assert [r["json"]["trigger"] for r in receiver.received] == ["Warm for a week"]
    assert receiver.received[0]["json"]["account"]["id"] == "acme"

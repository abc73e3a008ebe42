"""Account roll-ups kept up to date contact by contact, on SQLite and PostgreSQL.

An event on a member updates its account from that member's old and new entries
(service/rollups.py), never from the whole membership. These tests hold that path to
a rescoring from scratch *exactly*: after random writes of every kind, every stored
account score, breakdown (with each contact's contribution), entry and figure is
what the in-process reference gives for the whole population; the same after
simultaneous writers on one account, and after a write that fails half-way.
"""

from __future__ import annotations

import math
import random
import threading

import pytest
import sqlalchemy as sa

from leadscore.engine.accounts import Member, member_entries, score_population
from leadscore.service import accounts as service_accounts
from leadscore.service.rollups import SCALE, exact, rounded
from leadscore.service.schemas import EventIn
from leadscore.store import tables as T

MODEL = """\
name: abm
groups:
  fit:
    rules:
      - {name: Boss, when: {seniority: c_level}, points: 7}
      - {name: A account, when: {account.grade: A}, points: 10}
      - {name: MQA account, when: {account.stage: MQA}, points: 5}
  engagement:
    rules:
      - {name: Visits, on: {type: page_view}, points: 3.3}
      - {name: Demo, on: {type: form_submit}, points: 12.7}
exclusions:
  - {name: Student, when: {job_title: Student}}
thresholds: [{stage: MQL, when: {total: {gte: 30}}}]
account:
  groups:
    fit: {rules: [{name: Software, when: {industry: Software}, points: 20}]}
    team:
      rules:
        - {name: Team, rollup: sum, of: engagement, max_points: 60}
        - {name: Champion, rollup: max, of: engagement}
        - {name: Top three, rollup: top, top: 3, of: engagement}
        - {name: Engaged, rollup: count, where: {engagement: {gte: 10}}, points: 2, max_points: 9}
        - {name: Crowd, rollup: count, at_least: 3, points: 4, include_excluded: true}
        - name: Buying group
          rollup: roles
          roles: {decision maker: {seniority: c_level}, user: {engagement: {gte: 6}}}
          points: 8
  grades: {fit: {A: 20}}
  thresholds: [{stage: MQA, when: {total: {gte: 40}}}]
"""

PEOPLE = [f"c{i}" for i in range(10)]
EMAILS = ["{}@acme.com", "{}@beta.io", "{}@gmail.com"]


def test_exact_sums_round_as_fsum():
    """0.1 ten times sums to 0.9999999999999999 left to right; the exact sum is 1.0,
    and taking a value out again leaves exactly the sum of the others."""
    tenth = [0.1] * 10
    assert sum(tenth) != 1.0
    assert rounded(sum(exact(v) for v in tenth)) == 1.0 == math.fsum(tenth)
    rng = random.Random(3)
    values = [rng.uniform(-50, 50) * 10 ** rng.randint(-8, 8) for _ in range(300)]
    total = sum(exact(v) for v in values)
    assert rounded(total) == math.fsum(values)
    assert rounded(total - exact(values[0])) == math.fsum(values[1:])
    assert exact(5e-324) == 1 and rounded(SCALE) == 1.0  # the smallest float, and one


def setup(api, model: str = MODEL) -> None:
    assert api.put("/v1/accounts/acme", {"domain": "acme.com"}).status_code == 200
    body = {"domain": "beta.io", "properties": {"industry": "Software"}}
    assert api.put("/v1/accounts/beta", body).status_code == 200
    assert api.put("/v1/accounts/gamma", {"properties": {}}).status_code == 200
    for i, cid in enumerate(PEOPLE):
        props = {"seniority": "c_level"} if i % 4 == 0 else {}
        if i % 5 == 4:
            props["account_id"] = "gamma"
        body = {"email": EMAILS[i % 2].format(cid), "properties": props}
        assert api.put(f"/v1/contacts/{cid}", body).status_code == 200
    api.publish_model(model)


def hits(breakdown) -> list[tuple]:
    """A breakdown's every figure, contributions included, for exact comparison."""
    out = []
    for h in breakdown:
        h = h if isinstance(h, dict) else h.model_dump()
        given = [(c["contact_id"], c["points"], c.get("detail")) for c in h["contributions"]]
        fields = ("group", "rule", "matched", "fired", "points_raw", "points", "capped")
        out.append((*(h[k] for k in fields), h["detail"], given))
    return out


def assert_exactly_from_scratch(api, after: str = "") -> None:
    """Every stored account score, breakdown, entry and figure equals a rescoring of the
    whole population from scratch, to the last bit."""
    from leadscore.service.accounts import account_record
    from leadscore.service.scoring import contact_record, load_inputs, to_events

    svc = api.service
    with svc.store.read() as conn:
        pub = next(p for p in svc.published(conn) if p.name == "abm")
        model = pub.model
        ids = sorted(conn.execute(sa.select(T.contacts.c.id)).scalars())
        contacts, events, _ = load_inputs(conn, ids)
        accounts = [account_record(r) for r in conn.execute(sa.select(T.accounts))]
        stored = {r.account_id: r for r in conn.execute(sa.select(T.account_scores))}
        states = {r.account_id: r for r in conn.execute(sa.select(T.account_rollup_state))}
        entries: dict[str, dict[str, dict[str, float]]] = {}
        for r in conn.execute(sa.select(T.account_rollup_entries)):
            entries.setdefault(r.account_id, {}).setdefault(r.contact_id, {})[r.entry] = r.value
    records = {c: contact_record(contacts[c]) for c in ids}
    people = [(records[c], to_events(events.get(c, []))) for c in ids]
    pop = score_population(model, people, accounts, as_of="2100-01-01")
    by_id = {r.contact_id: r for r in pop.contacts}
    assert sorted(stored) == [a.account_id for a in pop.accounts], after
    for want in pop.accounts:
        aid = want.account_id
        row = stored[aid]
        assert (row.version, row.total, row.grade, row.stage, row.groups, row.contacts) == (
            pub.version,
            want.total,
            want.grade,
            want.stage,
            want.groups,
            want.contacts,
        ), f"{after}: account {aid}"
        shown = api.get(f"/v1/accounts/{aid}").json()["scores"][0]["breakdown"]
        assert hits(shown) == hits(want.breakdown), f"{after}: breakdown of {aid}"
        members = {
            cid: member_entries(model, Member.of(records[cid], by_id[cid]))
            for cid, link in pop.links.items()
            if link == aid
        }
        assert entries.get(aid, {}) == members, f"{after}: entries of {aid}"
        figures: dict[str, list] = {}
        for mine in members.values():
            for key, value in mine.items():
                n, total = figures.get(key, [0, 0])
                figures[key] = [n + 1, total + exact(value)]
        assert states[aid].version == pub.version
        assert {k: [n, int(s)] for k, (n, s) in states[aid].figures.items()} == figures, after
    assert set(entries) <= set(stored), f"{after}: entries of an account gone"


@pytest.mark.parametrize("seed", [0, 1])
def test_incremental_roll_ups_equal_a_rescoring_from_scratch(api, seed):
    """Random events, contact moves, property changes, adjustments, account changes and
    deletions over three accounts; after each, the stored state is the reference's."""
    setup(api)
    rng = random.Random(seed)
    for step in range(70):
        op = rng.choices(
            ["event", "contact", "account", "adjust", "delete"], weights=[12, 4, 2, 2, 1]
        )[0]
        cid = rng.choice(PEOPLE)
        if op == "event":
            kind = rng.choice(["page_view", "page_view", "form_submit"])
            body = {"contact_id": cid, "type": kind, "ts": "2026-01-01T00:00:00Z"}
            assert api.post("/v1/events", body).status_code < 300
        elif op == "contact":
            props = {"account_id": rng.choice([None, None, "gamma", "beta", "gone"])}
            props["seniority"] = rng.choice(["c_level", "staff"])
            if rng.random() < 0.2:
                props["job_title"] = "Student"
            body = {"email": rng.choice(EMAILS).format(cid), "properties": props}
            assert api.put(f"/v1/contacts/{cid}", body).status_code in (200, 409)
        elif op == "account":
            industry = rng.choice(["Software", "Retail"])
            aid = rng.choice(["acme", "beta", "gamma"])
            api.put(f"/v1/accounts/{aid}", {"properties": {"industry": industry}})
        elif op == "adjust":
            api.post(f"/v1/contacts/{cid}/adjustments", {"points": 5, "reason": f"r{step}"})
        else:
            api.delete(f"/v1/contacts/{cid}")
        assert_exactly_from_scratch(api, f"step {step}: {op} {cid}")


def test_an_event_reads_only_its_contact_not_the_whole_account(api, monkeypatch):
    """Once an account has figures, an event on one of its contacts neither lists the
    account's members nor reads their scores: it costs the same at any size."""
    setup(api)
    for cid in PEOPLE[:6]:
        api.post("/v1/events", {"contact_id": cid, "type": "page_view"})

    def refuse(*args, **kwargs):
        raise AssertionError("the whole account was read for one event")

    monkeypatch.setattr(service_accounts, "members_of", refuse)
    monkeypatch.setattr(service_accounts, "stored_scores", refuse)
    # c2 is staff: one more visit (3.3 → 6.6 engagement) keeps every account stage
    r = api.post("/v1/events", {"contact_id": "c2", "type": "page_view"})
    assert r.status_code < 300, r.text
    monkeypatch.undo()
    assert_exactly_from_scratch(api, "after an event read incrementally")


def test_simultaneous_writers_on_one_account(api):
    """Eight threads send events for contacts of the same account at once (some for the
    same contact); the account's figures count every committed event exactly once. The
    account crosses MQA on the way, and every contact reads its stage: the write that
    moves it rescores all the members while the others wait (accounts are locked before
    contacts, so no writer holds a member while waiting for the account)."""
    setup(api)
    svc = api.service
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for j in range(4):
                cid = f"c{(2 * (k + j)) % 10}"  # the even ones: all of acme
                kind = "form_submit" if (k + j) % 3 == 0 else "page_view"
                barrier.wait(timeout=60)
                svc.ingest([EventIn(contact_id=cid, type=kind, idempotency_key=f"{k}-{j}")], "t")
        except BaseException as exc:  # reported below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with svc.store.read() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(T.events)).scalar_one()
    assert n == 32
    assert_exactly_from_scratch(api, "after simultaneous writers")


@pytest.mark.parametrize("where", ["update", "rebuild"])
def test_a_write_failing_half_way_leaves_the_figures_whole(api, monkeypatch, where):
    """The figures move in the write's transaction: a failure after they moved (before
    the account score is written) rolls them back with the event, and later writes
    still equal a rescoring from scratch."""
    setup(api)
    svc = api.service
    for cid in PEOPLE[:4]:
        svc.ingest([EventIn(contact_id=cid, type="form_submit")], "t")
    real = service_accounts.write_account_scores

    def crash(*args, **kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(service_accounts, "write_account_scores", crash)
    with svc.store.read() as conn:
        before = sorted(tuple(r) for r in conn.execute(sa.select(T.account_rollup_state)))
    with pytest.raises(RuntimeError):
        if where == "update":  # an event: the account's figures are updated
            svc.ingest([EventIn(contact_id="c0", type="form_submit")], "t")
        else:  # a contact deleted: its account is rolled up again from those left
            svc.delete_contact("c2", "t", erase=False)
    monkeypatch.setattr(service_accounts, "write_account_scores", real)
    with svc.store.read() as conn:
        after = sorted(tuple(r) for r in conn.execute(sa.select(T.account_rollup_state)))
        n = conn.execute(sa.select(sa.func.count()).select_from(T.events)).scalar_one()
    assert after == before and n == 4
    assert api.get("/v1/contacts/c2").status_code == 200
    assert_exactly_from_scratch(api, "after the failed write")
    svc.ingest([EventIn(contact_id="c0", type="page_view")], "t")
    assert_exactly_from_scratch(api, "after the next write")


TIES = """\
name: ties
groups:
  engagement:
    rules: [{name: Visits, on: {type: page_view}, points: 5}]
account:
  groups:
    team:
      rules:
        - {name: Champion, rollup: max, of: engagement}
        - {name: Top two, rollup: top, top: 2, of: engagement}
"""


@pytest.mark.postgres
def test_ties_go_to_the_lowest_id_in_code_point_order_on_any_collation(postgres_url):
    """On a database whose collation sorts 'a1' before 'B2' (ICU en-US, a common
    default), the best of equal values is still the contact the reference picks: ids
    compare by code point, as in Python ('B2' < 'a1')."""
    import uuid

    import psycopg

    from .conftest import make_api

    name = "icu_" + uuid.uuid4().hex[:8]
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(
            f'CREATE DATABASE "{name}" TEMPLATE template0 LOCALE_PROVIDER icu '
            "ICU_LOCALE 'en-US' LOCALE 'C'"
        )
    url = postgres_url.rsplit("/", 1)[0] + "/" + name
    for api in make_api(url):
        assert api.put("/v1/accounts/acme", {"domain": "acme.com"}).status_code == 200
        for cid in ("a1", "B2", "c3"):
            assert api.put(f"/v1/contacts/{cid}", {"email": f"{cid}@acme.com"}).status_code == 200
        api.publish_model(TIES)
        for cid in ("a1", "c3", "B2"):  # after publishing: each event updates the figures
            assert (
                api.post("/v1/events", {"contact_id": cid, "type": "page_view"}).status_code < 300
            )
        breakdown = api.get("/v1/accounts/acme").json()["scores"][0]["breakdown"]
        chosen = {h["rule"]: [c["contact_id"] for c in h["contributions"]] for h in breakdown}
        assert chosen == {"Champion": ["B2"], "Top two": ["B2", "a1"]}

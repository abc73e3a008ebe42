"""Many simultaneous writers on each contact: every committed point counted, every
crossing fired once, whatever the interleaving and the senders' clocks.

Each round sends five events for one contact at the same moment from five threads
(the way a busy site's tag and a form hook hit the API together), on SQLite and on
a real PostgreSQL. Afterwards a contact's stored score must equal a rescoring from
scratch of everything committed, as of the time the score says it was computed,
and no committed event may lie after that time.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

from leadscore.engine.inprocess import score_contact
from leadscore.model.loader import load_model
from leadscore.service.auth import create_key
from leadscore.service.schemas import AdjustmentIn, ContactIn, EventIn
from leadscore.service.scoring import apply_adjustments, contact_record, to_events
from leadscore.store import Store
from leadscore.store import tables as T

from .helpers import model_yaml

# +10 per pricing view and nothing that changes with time: five views make 50, the MQL
# threshold, so a contact whose stored total is not 50 lost a point, and one that never
# entered MQL lost its trigger.
MODEL = model_yaml()  # the contacts have no properties: fit gives 0
CONTACTS = 24
WRITERS = 5


def _send_rounds(svc, skew: timedelta) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(WRITERS)

    def writer(k: int) -> None:
        for c in range(CONTACTS):
            # Writer 0 sends no time (the server's clock); the others send their own,
            # some of them ahead of the server's by ``skew``.
            ts = None if k == 0 else datetime.now(UTC) + (skew if k % 2 else timedelta(0))
            event = EventIn(
                contact_id=f"c{c:02d}",
                type="page_view",
                ts=ts,
                attributes={"url": "/pricing"},
                idempotency_key=f"{c}-{k}",
            )
            try:
                barrier.wait(timeout=60)
                svc.ingest([event], "test")
            except BaseException as exc:
                errors.append(exc)
                barrier.abort()
                return

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts


def _check(store: Store) -> None:
    model = load_model(MODEL)
    with store.read() as conn:
        contacts = {r.id: r for r in conn.execute(sa.select(T.contacts))}
        events: dict[str, list] = {}
        for r in conn.execute(sa.select(T.events).order_by(T.events.c.ts, T.events.c.seq)):
            events.setdefault(r.contact_id, []).append(r)
        scores = {r.contact_id: r for r in conn.execute(sa.select(T.scores))}
        history = conn.execute(sa.select(T.score_history).order_by(T.score_history.c.id)).all()
        outbox = conn.execute(sa.select(T.deliveries)).all()

    wrong_totals = sorted(c for c, s in scores.items() if s.total != 10.0 * WRITERS)
    assert wrong_totals == [], f"{len(wrong_totals)} contacts lost points: {wrong_totals}"
    crossings = sorted({d.contact_id for d in outbox})
    missing = sorted(set(contacts) - set(crossings))
    assert missing == [], f"{len(missing)} contacts never fired their MQL trigger: {missing}"
    assert len(outbox) == CONTACTS, "a crossing fired more than once"

    for cid, row in scores.items():
        at = _utc(row.scored_at)
        late = [e.seq for e in events[cid] if _utc(e.ts) > at]
        assert late == [], f"{cid}: events {late} lie after the time its score was computed"
        record = {**(contacts[cid].properties or {}), "id": cid}
        fresh = score_contact(
            model,
            record,
            [{"type": e.type, "ts": e.ts, "url": e.attributes.get("url")} for e in events[cid]],
            as_of=at,
        )
        assert (row.total, row.stage) == (fresh.total, fresh.stage), cid
    # History moves by one event at a time: no impossible step (0 -> 50 on one +10).
    steps = {
        (h.new_total or 0) - (h.old_total or 0)
        for h in history
        if h.cause == "event" and h.old_total is not None
    }
    assert steps <= {10.0}, f"history has steps of {sorted(steps)} points for +10 events"


def test_simultaneous_events_per_contact_lose_no_point_and_no_trigger(api):
    api.publish_model(MODEL)
    svc = api.service
    svc.upsert_contacts([ContactIn(id=f"c{c:02d}") for c in range(CONTACTS)], "test")
    assert _send_rounds(svc, timedelta(0)) == []
    _check(svc.store)


def test_events_ahead_of_the_server_clock_are_counted(api):
    """A sender whose clock runs a few seconds fast: its events count now, not later."""
    api.publish_model(MODEL)
    svc = api.service
    svc.upsert_contacts([ContactIn(id=f"c{c:02d}") for c in range(CONTACTS)], "test")
    assert _send_rounds(svc, timedelta(seconds=5)) == []
    _check(svc.store)
    # A sweep changes nothing: the scores were already right.
    svc.sweep()
    _check(svc.store)


def test_a_time_far_ahead_of_the_server_clock_is_refused_with_the_way_out(api):
    api.publish_model(MODEL)
    ahead = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    r = api.post("/v1/events", {"contact_id": "c1", "type": "page_view", "ts": ahead})
    assert r.status_code == 422, r.text
    body = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "events[0].ts" in body["detail"] and "max_clock_skew" in body["detail"]
    with api.service.store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(T.events)).scalar() == 0


def test_a_time_slightly_ahead_is_stored_as_the_moment_it_arrived(api):
    api.publish_model(MODEL)
    before = datetime.now(UTC)
    ahead = before + timedelta(seconds=30)
    r = api.post(
        "/v1/events",
        {"contact_id": "c1", "type": "page_view", "ts": ahead.isoformat(), "attributes": {}},
    )
    assert r.status_code == 202, r.text
    with api.service.store.read() as conn:
        (ts,) = conn.execute(sa.select(T.events.c.ts)).one()
    ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts
    assert before <= ts < ahead


@pytest.mark.slow
def test_two_server_processes_on_one_store_lose_nothing(tmp_path, database_url):
    """Two `leadscore serve` processes on the same store (SQLite file or PostgreSQL),
    five simultaneous senders per contact split between them, over HTTP."""
    from .test_crash import _port, _start

    store = Store(database_url)
    with store.write() as conn:
        token = create_key(conn, "writers", "admin")[1]
    store.dispose()
    headers = {"Authorization": f"Bearer {token}"}
    ports = [_port(), _port()]
    procs = [_start(database_url, p, tmp_path / f"server{p}.log") for p in ports]
    try:
        clients = [
            httpx.Client(base_url=f"http://127.0.0.1:{p}", headers=headers, timeout=30)
            for p in ports
        ]
        r = clients[0].post("/v1/models", json={"yaml": MODEL})
        assert r.status_code == 201, r.text
        r = clients[0].post("/v1/models/demo/versions/1/publish", json={})
        assert r.status_code == 200, r.text
        for c in range(CONTACTS):
            assert clients[c % 2].put(f"/v1/contacts/c{c:02d}", json={}).status_code in (200, 201)
        barrier = threading.Barrier(WRITERS)
        failures: list[str] = []

        def writer(k: int) -> None:
            client = clients[k % 2]
            for c in range(CONTACTS):
                barrier.wait(timeout=60)
                r = client.post(
                    "/v1/events",
                    json={
                        "contact_id": f"c{c:02d}",
                        "type": "page_view",
                        "attributes": {"url": "/pricing"},
                        "idempotency_key": f"{c}-{k}",
                    },
                )
                if r.status_code != 202:
                    failures.append(f"{r.status_code} {r.text}")

        threads = [threading.Thread(target=writer, args=(k,)) for k in range(WRITERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
    finally:
        for p in procs:
            p.kill()
            p.wait(10)

    store = Store(database_url, migrate=False)
    try:
        _check(store)
    finally:
        store.dispose()


DECAYING = model_yaml(
    **{"  engagement:\n    rules:": "  engagement:\n    decay: {half_life: 1d}\n    rules:"}
)


def test_every_write_path_at_once_keeps_scores_equal_to_a_rescoring(api):
    """Events, contact updates, manual adjustments and the time sweep, all at once on
    the same contacts, under a decaying model: every stored score equals a rescoring
    from scratch of what is committed (adjustments included) as of its own time, and
    every entry into MQL that history shows was delivered exactly once."""
    assert "decay: {half_life: 1d}" in DECAYING
    api.publish_model(DECAYING)
    svc = api.service
    ids = [f"c{c:02d}" for c in range(8)]
    svc.upsert_contacts([ContactIn(id=i) for i in ids], "test")
    errors: list[BaseException] = []
    rounds = 12

    def events(k: int) -> None:
        for r in range(rounds):
            svc.ingest(
                [
                    EventIn(
                        contact_id=ids[(k + r) % len(ids)],
                        type="page_view" if r % 3 else "form_submit",
                        attributes={"url": "/pricing"},
                        idempotency_key=f"e{k}-{r}",
                    )
                ],
                "test",
            )

    def contacts(_: int) -> None:
        for r in range(rounds):
            country = "FR" if r % 2 == 0 else None
            svc.upsert_contacts(
                [ContactIn(id=ids[r % len(ids)], properties={"country": country})], "test"
            )

    def adjustments(_: int) -> None:
        for r in range(rounds):
            body = AdjustmentIn(points=5 if r % 2 else -5, reason=f"call {r}")
            svc.adjust(ids[(r * 3) % len(ids)], body, "test")

    def sweeps(_: int) -> None:
        for _r in range(rounds // 3):
            svc.sweep()

    def run(work, k: int) -> None:
        try:
            work(k)
        except BaseException as exc:
            errors.append(exc)

    jobs = [events, events, events, contacts, adjustments, sweeps]
    threads = [threading.Thread(target=run, args=(w, k)) for k, w in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []

    model = load_model(DECAYING)
    with svc.store.read() as conn:
        rows = {r.id: r for r in conn.execute(sa.select(T.contacts))}
        evs: dict[str, list] = {}
        for r in conn.execute(sa.select(T.events).order_by(T.events.c.ts, T.events.c.seq)):
            evs.setdefault(r.contact_id, []).append(r)
        adjs: dict[str, list] = {}
        for r in conn.execute(sa.select(T.adjustments).order_by(T.adjustments.c.id)):
            adjs.setdefault(r.contact_id, []).append(r._asdict())
        scores = {r.contact_id: r for r in conn.execute(sa.select(T.scores))}
        history = conn.execute(sa.select(T.score_history).order_by(T.score_history.c.id)).all()
        outbox = conn.execute(sa.select(T.deliveries)).all()
    assert set(scores) == set(ids)
    for cid, row in scores.items():
        at = row.scored_at.replace(tzinfo=UTC) if row.scored_at.tzinfo is None else row.scored_at
        late = [e.seq for e in evs.get(cid, []) if _utc(e.ts) > at]
        assert late == [], f"{cid}: events {late} were committed but left out of its score"
        fresh = apply_adjustments(
            model,
            score_contact(model, contact_record(rows[cid]), to_events(evs.get(cid, [])), as_of=at),
            adjs.get(cid, []),
        )
        assert (row.total, row.stage) == (pytest.approx(fresh.total, abs=1e-9), fresh.stage), cid
    entries = Counter(
        h.contact_id for h in history if h.new_stage == "MQL" and h.old_stage != "MQL"
    )
    assert Counter(d.contact_id for d in outbox) == entries

"""The time sweep scored in the database (``service/sweep_sql.py``) writes what the
sweep scored in Python writes: the same scores (with their breakdown and next change),
history, trigger states and outbox rows, for random models, contacts, events and sweep
times on a real PostgreSQL; and an event written while the sweep runs is never
overwritten by an older score."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from hypothesis import given, settings

from leadscore.service import Service, load_settings
from leadscore.service.core import _time_dependent
from leadscore.service.schemas import ContactIn, EventIn
from leadscore.service.sweep_sql import SetScorer
from leadscore.store import tables as T

from ..engine_sql.strategies import populations
from .helpers import postgres_schema
from .test_sweep import (
    HISTORY,
    OUTBOX,
    SETTINGS,
    STATE,
    STEPS,
    _load,
    _publish,
    _rows,
    _stored,
    triggered_models,
)

STAGES = ["contact_id", "model_name", "stage", "entered_at", "source", "version"]
STAGES += ["previous_stage", "crm_stage"]
PLACES = 9  # float noise of a sum in another order: totals agree to far below what is shown


def _service(url: str, in_database: bool) -> Service:
    settings = load_settings(
        {
            "database": url,
            "sweep_interval": 0,
            "outbox_poll_interval": 0,
            "outbound_allow": "127.0.0.1",
            "sweep_in_database": in_database,
        },
        env={},
    )
    return Service(settings)


def _close(x: Any) -> Any:
    """A value with its floats rounded to :data:`PLACES`, for comparing two sums."""
    if isinstance(x, float):
        return round(x, PLACES) + 0.0
    if isinstance(x, dict):
        return {k: _close(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return type(x)(_close(v) for v in x)
    return x


SCORE = ["contact_id", "model_name", "version", "total", "grade", "stage", "excluded"]
SCORE += ["groups", "breakdown", "adjustment", "scored_at"]


def _scores(svc: Service) -> dict[str, tuple]:
    return {cid: _close(tuple(getattr(r, c) for c in SCORE)) for cid, r in _stored(svc).items()}


def _history(svc: Service) -> list[tuple]:
    with svc.store.read() as conn:
        rows = conn.execute(sa.select(T.score_history)).all()
    return sorted(_close((*(getattr(r, c) for c in HISTORY), r.detail)) for r in rows)


def _payloads(svc: Service) -> list[tuple]:
    with svc.store.read() as conn:
        rows = conn.execute(sa.select(T.deliveries.c.key, T.deliveries.c.payload)).all()
    return sorted((k, _close(p)) for k, p in rows)


def _same_next_change(a: Any, b: Any) -> bool:
    """Equal, or a few microseconds apart where a continuous decay's rate comes from a
    sum in another order (the instant is a bound of when the score may change)."""
    if a is None or b is None:
        return a is b
    return abs(a - b) <= timedelta(milliseconds=1)


def check_sql_against_python(url_a: str, url_b: str, raw: dict, data: tuple, steps: list[int]):
    """Two stores with the same data, swept at the same times: ``a`` in the database,
    ``b`` in Python (every other time with every score made due, so that both score
    every contact). Row for row the same scores, history, trigger states, recorded
    stages and outbox."""
    contacts, events = data
    a, b = _service(url_a, True), _service(url_b, False)
    try:
        text = yaml.safe_dump(raw)
        start = datetime.now(UTC)
        for svc in (a, b):
            _publish(svc, text)
            _load(svc, contacts, events, start)
        at = max(r.scored_at for svc in (a, b) for r in _stored(svc).values())
        ids = sorted(c["id"] for c in contacts)
        for svc in (a, b):  # both start over from one time
            with svc.store.write() as conn:
                conn.execute(sa.delete(T.trigger_state))
                conn.execute(sa.delete(T.deliveries))
                conn.execute(sa.delete(T.contact_stages))  # recorded at each store's load
                svc._rescore(conn, ids, "time", at)
                conn.execute(sa.delete(T.score_history))
        with a.store.read() as conn:
            (pub,) = a.published(conn)
        # the sweep passes over a model that no time can change
        in_db = _time_dependent(pub) and a.set_scorers.get(pub, "postgresql") is not None
        swept = 0
        for n, step in enumerate(steps):
            at = at + timedelta(seconds=step)
            if n % 2 == 0:  # every other sweep, every score due: each path scores them all
                for svc in (a, b):
                    with svc.store.write() as conn:
                        conn.execute(sa.update(T.scores).values(next_change=T.scores.c.scored_at))
            swept += sum(1 for r in _stored(a).values() if r.next_change and r.next_change <= at)
            done = a.sweep(now=at), b.sweep(now=at)
            assert done[0] == done[1]
            assert _scores(a) == _scores(b)
            sa_, sb = _stored(a), _stored(b)
            for cid in ids:
                assert _same_next_change(sa_[cid].next_change, sb[cid].next_change), cid
            assert _history(a) == _history(b)
            assert _rows(a, T.trigger_state, STATE) == _rows(b, T.trigger_state, STATE)
            assert _rows(a, T.contact_stages, STAGES) == _rows(b, T.contact_stages, STAGES)
            assert _rows(a, T.deliveries, OUTBOX) == _rows(b, T.deliveries, OUTBOX)
            assert _payloads(a) == _payloads(b)
        # the set-based path scored every due contact where the model allows it, and
        # none where it does not
        assert a.swept_in_database == (swept if in_db else 0)
    finally:
        a.store.dispose()
        b.store.dispose()


@pytest.mark.postgres
@settings(max_examples=30, **SETTINGS)
@given(raw=triggered_models(), data=populations(max_contacts=8, max_events=30), steps=STEPS)
def test_the_sweep_in_the_database_writes_what_the_python_sweep_writes(
    pg_database, raw, data, steps
):
    check_sql_against_python(
        postgres_schema(pg_database), postgres_schema(pg_database), raw, data, steps
    )


HOOK = "http://127.0.0.1:9/hook"
SCENARIO = {
    "name": "m",
    "groups": {
        "fit": {
            "rules": [
                {"name": "Country", "when": {"country": {"in": ["FR", "BE"]}}, "points": 10},
                {"name": "Profile", "properties": ["country", "job_title"], "points": 2},
            ]
        },
        "eng": {
            "max": 60,
            "decay": {"half_life": "3d"},
            "rules": [
                {
                    "name": "Pricing",
                    "on": {"type": "page_view", "url": {"contains": "/pricing"}},
                    "points": 10,
                    "max_points": 30,
                },
                {
                    "name": "Demo",
                    "on": {"type": "form_submit"},
                    "points": 40,
                    "decay": {
                        "steps": [{"until": "2d", "factor": 1}, {"until": "5d", "factor": 0.5}]
                    },
                },
                {
                    "name": "Webinar",
                    "on": {"type": "webinar"},
                    "points": 15,
                    "within": "6d",
                    "limit": {"count": 1, "per": "day"},
                    "decay": {"linear": "10d"},
                },
                {
                    "name": "Busy",
                    "on": {"type": "page_view"},
                    "at_least": 3,
                    "within": "2d",
                    "points": 5,
                },
                {"name": "Gone quiet", "inactive_for": "3d", "points": -20},
                {
                    "name": "Big purchase",
                    "on": {"type": "purchase", "amount": {"gte": 100}},
                    "points": 20,
                    "within": "5d",
                },
                {"name": "Human click", "on": {"type": "click", "bot": False}, "points": 4},
                # a list's text has quotes in Python, not in JSON: such contacts go to Python
                {"name": "Tagged", "on": {"type": "click", "tags": {"contains": "'"}}, "points": 1},
            ],
        },
        "recent": {
            "reset_on_stage": True,
            "rules": [
                {
                    "name": "Since stage",
                    "on": {"type": "page_view"},
                    "points": 3,
                    "decay": {"expires": "4d"},
                }
            ],
        },
    },
    "exclusions": [{"name": "Bounced", "on": {"type": "bounce"}, "within": "5d"}],
    "thresholds": [{"stage": "MQL", "when": {"total": {"gte": 40}}}],
    "default_stage": "lead",
    "triggers": [
        {"name": "Tell sales", "on": {"enters": "MQL"}, "actions": [{"webhook": {"url": HOOK}}]},
        {
            "name": "Cooling",
            "on": {"crosses": {"score": "total", "below": 15}},
            "hysteresis": 2,
            "actions": [{"webhook": {"url": HOOK}}],
        },
    ],
}


def _population(seed: int, start: datetime) -> tuple[list[dict], list[dict]]:
    """Contacts and events of a seeded draw over the week before ``start``: most scores
    decay or leave a window within days, many cross MQL or the cooling line; event
    attributes are texts, numbers and booleans (read as text in the database)."""
    import random

    rng = random.Random(seed)
    contacts, events = [], []
    for i in range(60):
        cid = f"c{i:02d}"
        c: dict[str, Any] = {"id": cid, "country": rng.choice(["FR", "BE", "DE", None])}
        if rng.random() < 0.5:
            c["job_title"] = rng.choice(["CEO", "intern"])
        if rng.random() < 0.5:
            c["lifecycle_stage_entered_at"] = (
                start - timedelta(days=rng.uniform(0, 6))
            ).isoformat()
        contacts.append(c)
        for _ in range(rng.randint(0, 12)):
            kinds = ["page_view", "page_view", "form_submit", "webinar", "bounce", "purchase"]
            kind = rng.choice([*kinds, "click"])
            attrs: dict[str, Any] = {}
            if kind == "page_view":
                attrs["url"] = rng.choice(["/pricing", "/blog", "/pricing/team"])
            if kind == "purchase":  # JSON numbers, a number's text, a boolean
                attrs["amount"] = rng.choice([50, 150, 99.5, 100.0, "120", True])
            if kind == "click":
                attrs["bot"] = rng.choice([True, False, "no", "false", 0])
                if rng.random() < 0.3:
                    attrs["tags"] = rng.choice([["vip"], {"tier": "gold"}, "vip's"])
            ago = timedelta(seconds=rng.randint(0, 7 * 86400))
            events.append({"contact_id": cid, "type": kind, "ts": start - ago, "attrs": attrs})
    return contacts, events


def _load_population(svc: Service, contacts: list[dict], events: list[dict]) -> None:

    svc.upsert_contacts(
        [
            ContactIn(id=c["id"], properties={k: v for k, v in c.items() if k != "id" and v})
            for c in contacts
        ],
        "test",
    )
    svc.ingest(
        [
            EventIn(
                contact_id=e["contact_id"],
                type=e["type"],
                ts=e["ts"],
                attributes=e["attrs"],
            )
            for e in events
        ],
        "test",
    )


@pytest.mark.postgres
def test_decay_windows_and_inactivity_cross_thresholds_alike_in_the_database(pg_database):
    """60 contacts under a model with every kind of time at work (half-life under a cap,
    decay steps, a window with a repetition limit and linear decay, a frequency window,
    inactivity, a group reset on the stage entry, a windowed exclusion, a manual
    adjustment), swept over two weeks: both sweeps rescore the same contacts and write
    the same rows, and cooling crossings (by decay and inactivity) do happen."""
    from leadscore.service.schemas import AdjustmentIn

    url_a, url_b = postgres_schema(pg_database), postgres_schema(pg_database)
    a, b = _service(url_a, True), _service(url_b, False)
    try:
        start = datetime.now(UTC)
        contacts, events = _population(7, start)
        for svc in (a, b):
            _publish(svc, yaml.safe_dump(SCENARIO))
            _load_population(svc, contacts, events)
            svc.adjust("c03", AdjustmentIn(points=12, reason="met at a fair"), "test")
            with svc.store.write() as conn:  # its breakdown line names the time: one time
                conn.execute(sa.update(T.adjustments).values(created_at=start))
        at = max(r.scored_at for svc in (a, b) for r in _stored(svc).values())
        ids = sorted(c["id"] for c in contacts)
        for svc in (a, b):
            with svc.store.write() as conn:
                conn.execute(sa.delete(T.trigger_state))
                conn.execute(sa.delete(T.deliveries))
                conn.execute(sa.delete(T.contact_stages))  # recorded at each store's load
                svc._rescore(conn, ids, "time", at)
                conn.execute(sa.delete(T.score_history))
        for hours in (1, 5, 20, 30, 47, 49, 70, 73, 100, 150, 200, 330):
            when = at + timedelta(hours=hours)
            assert a.sweep(now=when) == b.sweep(now=when)
            assert _scores(a) == _scores(b)
            sa_, sb = _stored(a), _stored(b)
            assert all(_same_next_change(sa_[c].next_change, sb[c].next_change) for c in ids)
            assert _history(a) == _history(b)
            assert _rows(a, T.trigger_state, STATE) == _rows(b, T.trigger_state, STATE)
            assert _rows(a, T.contact_stages, STAGES) == _rows(b, T.contact_stages, STAGES)
            assert _payloads(a) == _payloads(b)
            if hours == 1:
                typed = {
                    (h["rule"], h["matched"] > 0)
                    for r in sa_.values()
                    for h in r.breakdown
                    if h["rule"] in ("Big purchase", "Human click")
                }
        assert a.swept_in_database > 100 and b.swept_in_database == 0
        # the numbers' and booleans' rules matched some events and not others
        assert {(r, m) for r in ("Big purchase", "Human click") for m in (True, False)} == typed
        with a.store.read() as conn:
            fired = conn.execute(
                sa.select(T.deliveries.c.trigger, sa.func.count()).group_by(T.deliveries.c.trigger)
            ).all()
        # Cooling starts disarmed and fires only after a fall below 15 during the sweeps
        assert {t for t, _ in fired} == {"Tell sales", "Cooling"}, fired
    finally:
        a.store.dispose()
        b.store.dispose()


DECAYING = {
    "name": "m",
    "groups": {
        "eng": {
            "decay": {"half_life": "1d"},
            "rules": [{"name": "Views", "on": {"type": "page_view"}, "points": 10}],
        }
    },
    "thresholds": [{"stage": "MQL", "when": {"total": {"gte": 25}}}],
    "default_stage": "lead",
}


@pytest.mark.postgres
def test_an_event_during_the_sweep_is_never_overwritten_by_an_older_score(pg_database, monkeypatch):
    """The sweep (at the live time) holds a page's row locks while the database scores it:
    an event for one of its contacts sent meanwhile waits, then rescores the contact
    after the page commits. The stored score counts the event and is what a rescoring
    from scratch of every stored event gives as of its time."""

    from leadscore.service.scoring import load_inputs, score_one

    svc = _service(postgres_schema(pg_database), True)
    try:
        _publish(svc, yaml.safe_dump(DECAYING))
        now = datetime.now(UTC)
        ids = [f"c{i}" for i in range(8)]
        svc.ingest(
            [EventIn(contact_id=c, type="page_view", ts=now - timedelta(days=2)) for c in ids],
            "test",
        )
        with svc.store.write() as conn:  # every score due now
            conn.execute(sa.update(T.scores).values(next_change=now))
        waited: list[bool] = []
        errors: list[BaseException] = []

        def late_event() -> None:
            try:
                svc.ingest([EventIn(contact_id="c3", type="page_view")], "test")
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        real = SetScorer.score

        def score_slowly(self, conn, page, as_of):
            if not waited:
                writer = threading.Thread(target=late_event)
                writer.start()
                time.sleep(0.5)
                waited.append(writer.is_alive())  # still waiting for the page's locks
                score_slowly.writer = writer  # type: ignore[attr-defined]
            return real(self, conn, page, as_of)

        monkeypatch.setattr(SetScorer, "score", score_slowly)
        assert svc.sweep() == len(ids)
        score_slowly.writer.join(30)  # type: ignore[attr-defined]
        assert errors == [] and waited == [True]
        assert svc.swept_in_database == len(ids)
        stored = _stored(svc)
        with svc.store.read() as conn:
            (pub,) = svc.published(conn)
            contacts, events, adjustments = load_inputs(conn, ids)
        assert len(events["c3"]) == 2
        for cid in ids:
            row = stored[cid]
            ref = score_one(
                pub, contacts[cid], events[cid], adjustments.get(cid, []), row.scored_at
            )
            assert round(row.total, PLACES) == round(ref.total, PLACES), cid
        assert stored["c3"].breakdown[0]["matched"] == 2
        assert stored["c3"].scored_at >= max(e.ts for e in events["c3"])
    finally:
        svc.store.dispose()


def test_what_the_database_cannot_score_is_swept_in_python_and_says_why(caplog):
    """SQLite has no dialect in the compiler, and a model that scores accounts is swept
    with its accounts: both are scored in Python, with the reason in a debug line; the
    same model on PostgreSQL is scored in the database."""
    import logging

    from leadscore.service.published import Published, model_from_text
    from leadscore.service.sweep_sql import SetScorers

    from ..conftest import EXAMPLES

    scenario = model_from_text(yaml.safe_dump(SCENARIO))
    abm = model_from_text((EXAMPLES / "abm.yaml").read_text())
    scorers = SetScorers()
    with caplog.at_level(logging.DEBUG, logger="leadscore.service.sweep_sql"):
        assert scorers.get(Published("m", 1, scenario), "sqlite") is None
        assert scorers.get(Published("abm", 1, abm), "postgresql") is None
        assert scorers.get(Published("m", 1, scenario), "postgresql") is not None
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 2, said
    assert "model m v1 is scored in Python" in said[0] and "no dialect" in said[0]
    assert "accounts" in said[1]

"""The time sweep rescores only the scores whose next change has come, and leaves
every stored score as a rescoring from scratch gives it at the sweep's time: on
SQLite and on a real PostgreSQL, for random models, contacts, events and times."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from leadscore import load_model
from leadscore.engine.horizon import TICK
from leadscore.errors import ModelError
from leadscore.service import Service, load_settings, stages
from leadscore.service.schemas import ContactIn, EventIn
from leadscore.service.scoring import load_inputs, lookback_start, score_one
from leadscore.service.versions import create_draft, publish
from leadscore.store import tables as T

from ..engine_sql.strategies import AS_OF, models, populations
from .helpers import postgres_schema

CONTINUOUS = ("half_life", "linear")


def _service(url: str) -> Service:
    settings = load_settings(
        {
            "database": url,
            "sweep_interval": 0,
            "outbox_poll_interval": 0,
            "outbound_allow": "127.0.0.1",
        },
        env={},
    )
    return Service(settings)


def _publish(svc: Service, text: str) -> None:
    draft = create_draft(svc, text, {}, "test")
    publish(svc, draft["name"], draft["version"], "test", fire_triggers=False)


def _load(svc: Service, contacts: list[dict], events: list[dict], base: datetime) -> None:
    """The contacts, and their events moved from the strategies' time to ``base`` (none
    after ``base``)."""
    svc.upsert_contacts(
        [
            ContactIn(
                id=c["id"], properties={k: v for k, v in c.items() if k != "id" and v is not None}
            )
            for c in contacts
        ],
        "test",
    )
    known = {c["id"] for c in contacts}
    items = [
        EventIn(
            contact_id=e["contact_id"],
            type=e["type"],
            ts=min(base + (e["ts"] - AS_OF), base),
            attributes={k: e[k] for k in ("url", "k") if e.get(k) is not None},
        )
        for e in events
        if e["contact_id"] in known
    ]
    if items:
        svc.ingest(items, "test")


def _stored(svc: Service) -> dict[str, Any]:
    with svc.store.read() as conn:
        return {r.contact_id: r for r in conn.execute(sa.select(T.scores))}


def _fresh(svc: Service, ids: list[str], at: datetime) -> dict[str, Any]:
    """Each contact scored from scratch as of ``at``, from all its stored events (and its
    recorded stage, an input of a model that keeps stages)."""
    with svc.store.read() as conn:
        (pub,) = svc.published(conn)
        contacts, events, adjustments = load_inputs(conn, ids)
        facts = stages.load(conn, ids, [pub.name])
    return {
        cid: score_one(
            pub,
            contacts[cid],
            events.get(cid, []),
            adjustments.get(cid, []),
            at,
            stage=facts.get((cid, pub.name)),
        )
        for cid in ids
    }


def _tenths(groups: dict[str, float]) -> dict[str, float]:
    return {g: round(v, 1) for g, v in groups.items()}


def _continuous(raw: dict) -> bool:
    def kind(decay: Any) -> str | None:
        return next(iter(decay)) if isinstance(decay, dict) else decay

    for group in raw["groups"].values():
        for rule in group["rules"]:
            if "on" in rule and "at_least" not in rule:
                decay = rule.get("decay", group.get("decay"))
                if kind(decay) in CONTINUOUS:
                    return True
    return False


def check_sweeps(url: str, raw: dict, data: tuple, steps: list[int]) -> list[int]:
    """Load, then sweep at each later time; after every sweep each stored score equals a
    rescoring from scratch at the sweep's time (to the last bit when no continuous decay
    is at work, else as shown: the total and groups to one decimal, grade, stage,
    excluded).
    Returns how many contacts each sweep rescored."""
    contacts, events = data
    svc = _service(url)
    try:
        _publish(svc, yaml.safe_dump(raw))
        start = datetime.now(UTC)
        _load(svc, contacts, events, start)
        at = max(r.scored_at for r in _stored(svc).values())
        ids = sorted(c["id"] for c in contacts)
        touched = []
        exact = not _continuous(raw)
        for step in steps:
            at = at + timedelta(seconds=step)
            touched.append(svc.sweep(now=at))
            stored, fresh = _stored(svc), _fresh(svc, ids, at)
            assert sorted(stored) == ids
            for cid in ids:
                row, ref = stored[cid], fresh[cid]
                assert row.next_change is None or row.next_change >= row.scored_at + TICK
                assert row.next_change is None or row.next_change > at, "left due"
                seen = (round(row.total, 1), _tenths(row.groups), row.grade, row.stage)
                seen += (row.excluded,)
                want = (round(ref.total, 1), _tenths(ref.result.groups), ref.result.grade)
                want += (ref.stage, ref.result.excluded)
                assert seen == want, (cid, at, row.scored_at, row.next_change)
                if exact:
                    assert (row.total, row.groups) == (ref.total, ref.result.groups), cid
        return touched
    finally:
        svc.store.dispose()


SIMPLE = [{"type": "view"}, {"type": ["view", "click"]}, {"type": {"ne": "form"}}]


@st.composite
def timed_models(draw):
    """The random models of the engine tests, with event filters that often match (so
    windows, decay and inactivity are at work in most examples)."""
    raw = draw(models())
    for group in raw["groups"].values():
        for rule in group["rules"]:
            if "on" in rule and draw(st.integers(0, 3)):
                rule["on"] = draw(st.sampled_from(SIMPLE))
    for x in raw["exclusions"]:
        if "on" in x and draw(st.booleans()):
            x["on"] = draw(st.sampled_from(SIMPLE))
    return raw


HOOK = "http://127.0.0.1:9/hook"


@st.composite
def triggered_models(draw):
    """Timed models with triggers of every kind, with and without a hysteresis band."""
    raw = draw(timed_models())
    scores = ["total", *raw["groups"]]
    stages = [t["stage"] for t in raw["thresholds"]] + (
        [raw["default_stage"]] if "default_stage" in raw else []
    )
    kinds = [
        st.builds(
            lambda score, side, value: {"crosses": {"score": score, side: value}},
            st.sampled_from(scores),
            st.sampled_from(["above", "below"]),
            st.sampled_from([0, 1, 2.52, 5, 7.77]),  # some far from a shown total's rounding
        ),
        st.builds(
            lambda score, value, period: {"holds": {score: {"gte": value}}, "for": period},
            st.sampled_from(scores),
            st.sampled_from([0, 1, 5]),
            st.sampled_from(["1h", "1d"]),
        ),
    ]
    if stages:
        kinds.append(
            st.builds(
                lambda kind, stage: {kind: stage},
                st.sampled_from(["enters", "leaves"]),
                st.sampled_from(stages),
            )
        )
    triggers = []
    for i in range(draw(st.integers(1, 3))):
        trig = {
            "name": f"t{i}",
            "on": draw(st.one_of(kinds)),
            "actions": [{"webhook": {"url": HOOK}}],
        }
        band = draw(st.sampled_from([None, 0, 1, 2.52]))
        if band is not None and "holds" not in trig["on"]:
            trig["hysteresis"] = band
        try:  # a trigger the model's bounds keep from ever firing is refused
            load_model({**raw, "triggers": [trig]})
        except ModelError:
            continue
        triggers.append(trig)
    raw["triggers"] = triggers
    return raw


def _rows(svc: Service, table: sa.Table, columns: list[str]) -> list[tuple]:
    with svc.store.read() as conn:
        got = conn.execute(sa.select(*(table.c[c] for c in columns))).all()
    return sorted(tuple(r) for r in got)


HISTORY = ["contact_id", "at", "cause", "old_total", "new_total", "old_stage", "new_stage"]
HISTORY += ["old_grade", "new_grade"]
STATE = ["trigger", "contact_id", "armed", "crossings", "since", "changed_at"]
OUTBOX = ["key", "contact_id", "crossing", "created_at"]


def _history(svc: Service) -> list[tuple]:
    """The history rows, each with the total it moved from as shown (one decimal): a
    store that rescored every contact at every sweep rewrote the exact stored total of
    a decaying score whose shown value had not moved, and the due-only sweep, rightly,
    did not, so the exact totals the two moved from differ below what a user sees."""
    at = HISTORY.index("old_total")
    rows = _rows(svc, T.score_history, HISTORY)
    return [(*r[:at], None if r[at] is None else round(r[at], 1), *r[at + 1 :]) for r in rows]


def check_against_full_sweeps(url_a: str, url_b: str, raw: dict, data: tuple, steps: list[int]):
    """Two stores with the same data: one swept by ``Service.sweep``, the other by
    rescoring every contact with events at each sweep's time (what the sweep did before
    it knew each score's next change). Their history, trigger states and outbox rows
    are the same, row for row, and so are their scores as shown."""
    contacts, events = data
    a, b = _service(url_a), _service(url_b)
    try:
        text = yaml.safe_dump(raw)
        start = datetime.now(UTC)
        for svc in (a, b):
            _publish(svc, text)
            _load(svc, contacts, events, start)
        # The stores were loaded a moment apart: both start over from one time, with
        # trigger states and outbox rows from a rescoring at that time, and no history.
        at = max(r.scored_at for svc in (a, b) for r in _stored(svc).values())
        ids = sorted(c["id"] for c in contacts)
        for svc in (a, b):
            with svc.store.write() as conn:
                conn.execute(sa.delete(T.trigger_state))
                conn.execute(sa.delete(T.deliveries))
                svc._rescore(conn, ids, "time", at)
                conn.execute(sa.delete(T.score_history))
        for step in steps:
            at = at + timedelta(seconds=step)
            a.sweep(now=at)
            with b.store.read() as conn:
                pubs = b.published(conn)
            with b.store.write() as conn:
                b._rescore(conn, ids, "time", at, models=pubs)
            b._sweep_holds(pubs, at, 500)
            assert _history(a) == _history(b)
            assert _rows(a, T.trigger_state, STATE) == _rows(b, T.trigger_state, STATE)
            assert _rows(a, T.deliveries, OUTBOX) == _rows(b, T.deliveries, OUTBOX)
            sa_, sb = _stored(a), _stored(b)
            for cid in ids:
                ra, rb = sa_[cid], sb[cid]
                assert (round(ra.total, 1), _tenths(ra.groups), ra.grade, ra.stage) == (
                    round(rb.total, 1),
                    _tenths(rb.groups),
                    rb.grade,
                    rb.stage,
                ), (cid, at)
                assert ra.excluded == rb.excluded
    finally:
        a.store.dispose()
        b.store.dispose()


SETTINGS = dict(
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a store per example: no shrinking
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
STEPS = st.lists(
    st.one_of(
        st.sampled_from([1, 30, 59, 60, 61, 300, 1800, 3599, 3600, 3601, 86399, 86400, 86401]),
        st.integers(1, 2 * 86400),
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=25, **SETTINGS)
@given(raw=timed_models(), data=populations(max_contacts=5, max_events=20), steps=STEPS)
def test_sweep_equals_a_rescoring_from_scratch_sqlite(raw, data, steps):
    with tempfile.TemporaryDirectory() as tmp:
        check_sweeps(f"sqlite:///{Path(tmp) / 'store.db'}", raw, data, steps)


@pytest.mark.postgres
@settings(max_examples=10, **SETTINGS)
@given(raw=timed_models(), data=populations(max_contacts=5, max_events=20), steps=STEPS)
def test_sweep_equals_a_rescoring_from_scratch_postgres(pg_database, raw, data, steps):
    check_sweeps(postgres_schema(pg_database), raw, data, steps)


@settings(max_examples=20, **SETTINGS)
@given(raw=triggered_models(), data=populations(max_contacts=4, max_events=16), steps=STEPS)
def test_sweep_writes_what_full_sweeps_write_sqlite(raw, data, steps):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        check_against_full_sweeps(
            f"sqlite:///{root / 'a.db'}", f"sqlite:///{root / 'b.db'}", raw, data, steps
        )


@pytest.mark.postgres
@settings(max_examples=8, **SETTINGS)
@given(raw=triggered_models(), data=populations(max_contacts=4, max_events=16), steps=STEPS)
def test_sweep_writes_what_full_sweeps_write_postgres(pg_database, raw, data, steps):
    check_against_full_sweeps(
        postgres_schema(pg_database), postgres_schema(pg_database), raw, data, steps
    )


WINDOWED = {
    "name": "m",
    "groups": {
        "eng": {
            "rules": [
                {"name": "Views", "on": {"type": "view"}, "points": 5, "within": "1d"},
                {"name": "Forms", "on": {"type": "form"}, "points": 20},
            ]
        }
    },
    "thresholds": [{"stage": "MQL", "when": {"total": {"gte": 20}}}],
    "default_stage": "lead",
}


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_sweep_rescores_only_the_contacts_whose_window_has_moved(backend, tmp_path, request):
    """40 contacts: 10 viewed a page 20 hours ago (a window of a day), 30 only filled a
    form (which counts forever). A sweep 5 hours on rescores nobody; one 5 hours later
    rescores the 10, and the next at the same time rescores nobody."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = postgres_schema(request.getfixturevalue("pg_database"))
    svc = _service(url)
    try:
        _publish(svc, yaml.safe_dump(WINDOWED))
        now = datetime.now(UTC)
        ids = [f"c{i:02d}" for i in range(40)]
        svc.upsert_contacts([ContactIn(id=cid) for cid in ids], "test")
        svc.ingest(
            [
                EventIn(
                    contact_id=cid,
                    type="view" if i < 10 else "form",
                    ts=now - timedelta(hours=20),
                )
                for i, cid in enumerate(ids)
            ],
            "test",
        )
        stored = _stored(svc)
        assert {cid for cid, r in stored.items() if r.next_change is not None} == set(ids[:10])
        assert stored["c00"].next_change == now - timedelta(hours=20) + timedelta(days=1) + TICK
        assert svc.sweep(now=now + timedelta(hours=3)) == 0
        assert _stored(svc)["c00"].total == 5
        later = now + timedelta(hours=5)
        assert svc.sweep(now=later, batch=3) == 10  # four pages of the index
        after = _stored(svc)
        assert {after[c].total for c in ids[:10]} == {0.0}
        assert {after[c].total for c in ids[10:]} == {20.0}
        assert all(after[c].next_change is None for c in ids)
        assert svc.sweep(now=later) == 0
    finally:
        svc.store.dispose()


def test_a_model_whose_rules_all_have_windows_reads_only_its_window(tmp_path):
    """Scoring an event reads the events of the longest window, not the whole history,
    when every rule that reads events has a window; the score is the same."""
    model = {
        "name": "m",
        "groups": {
            "eng": {
                "rules": [
                    {"name": "Views", "on": {"type": "view"}, "points": 5, "within": "1d"},
                    {
                        "name": "Forms",
                        "on": {"type": "form"},
                        "points": 20,
                        "within": "7d",
                        "decay": {
                            "steps": [{"until": "2d", "factor": 1}, {"until": "7d", "factor": 0.5}]
                        },
                    },
                ]
            }
        },
        "exclusions": [{"name": "Bounced", "on": {"type": "bounce"}, "within": "3d"}],
    }
    svc = _service(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        _publish(svc, yaml.safe_dump(model))
        now = datetime.now(UTC)
        old = [
            EventIn(contact_id="c", type=t, ts=now - timedelta(days=8 + i))
            for i in range(100)
            for t in ("view", "form", "bounce")
        ]
        svc.ingest(old, "test")
        recent = [
            EventIn(contact_id="c", type="form", ts=now - timedelta(days=3)),
            EventIn(contact_id="c", type="view", ts=now - timedelta(hours=1)),
        ]
        (first, _) = svc.ingest(recent, "test")
        assert first["scores"]["m"]["total"] == 15  # 5 + 20 * 0.5; bounces 8+ days old
        row = _stored(svc)["c"]
        with svc.store.read() as conn:
            (pub,) = svc.published(conn)
            since = lookback_start([pub], row.scored_at)
            assert since == row.scored_at - timedelta(days=7)
            assert len(load_inputs(conn, ["c"])[1]["c"]) == 302
            assert len(load_inputs(conn, ["c"], since=since)[1]["c"]) == 2
        ref = _fresh(svc, ["c"], row.scored_at)["c"]
        assert (row.total, row.groups, row.breakdown) == (
            ref.total,
            ref.result.groups,
            ref.breakdown,
        )
    finally:
        svc.store.dispose()


DECAYING = {
    "name": "m",
    "groups": {
        "eng": {
            "decay": {"half_life": "1d"},
            "rules": [{"name": "Views", "on": {"type": "view"}, "points": 10}],
        }
    },
    "triggers": [
        {
            "name": "Cooling",
            "on": {"crosses": {"score": "total", "below": 7.77}},
            "actions": [{"webhook": {"url": HOOK}}],
        }
    ],
}


def test_a_decaying_score_is_swept_when_it_crosses_a_trigger_value(tmp_path):
    """10 points halving every day fall under 7.77 after log2(10/7.77) days. Scored at
    7.80 (shown 7.8, next shown change at 7.75), the score is still due before 7.77:
    the sweep just after the crossing fires the trigger."""
    import math

    svc = _service(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        _publish(svc, yaml.safe_dump(DECAYING))
        ts = datetime.now(UTC) - timedelta(seconds=1)
        svc.ingest([EventIn(contact_id="c", type="view", ts=ts)], "test")

        def when(value: float) -> datetime:
            return ts + timedelta(days=math.log2(10 / value))

        with svc.store.write() as conn:
            svc._rescore(conn, ["c"], "time", when(7.80))
        row = _stored(svc)["c"]
        assert round(row.total, 2) == 7.80
        assert when(7.78) < row.next_change <= when(7.77)
        assert svc.sweep(now=when(7.77) + timedelta(seconds=1)) == 1
        assert _rows(svc, T.deliveries, ["trigger", "contact_id"]) == [("Cooling", "c")]
    finally:
        svc.store.dispose()


def test_a_contact_is_rescored_only_under_the_models_it_is_due_in(tmp_path):
    """Two models read the same views, with windows of one and of two days: 5 hours on,
    the one-day window has moved and the two-day one has not; the sweep rescores the
    contacts under the first model and leaves their scores under the second as they
    were (still right: nothing has moved there)."""
    svc = _service(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        _publish(svc, yaml.safe_dump(WINDOWED))
        _publish(svc, yaml.safe_dump({**WINDOWED, "name": "n"}).replace("within: 1d", "within: 2d"))
        now = datetime.now(UTC)
        ids = [f"c{i}" for i in range(4)]
        svc.ingest(
            [EventIn(contact_id=c, type="view", ts=now - timedelta(hours=20)) for c in ids], "test"
        )
        with svc.store.read() as conn:
            before = {(r.contact_id, r.model_name): r for r in conn.execute(sa.select(T.scores))}
        assert svc.sweep(now=now + timedelta(hours=5)) == 4
        with svc.store.read() as conn:
            after = {(r.contact_id, r.model_name): r for r in conn.execute(sa.select(T.scores))}
        for c in ids:
            assert (after[(c, "m")].total, before[(c, "m")].total) == (0.0, 5.0)
            assert after[(c, "m")].scored_at == now + timedelta(hours=5)
            assert after[(c, "n")] == before[(c, "n")]
            assert after[(c, "n")].total == 5.0
    finally:
        svc.store.dispose()

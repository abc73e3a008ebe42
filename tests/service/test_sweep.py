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

from leadscore.engine.horizon import TICK
from leadscore.service import Service, load_settings
from leadscore.service.schemas import ContactIn, EventIn
from leadscore.service.scoring import load_inputs, lookback_start, score_one
from leadscore.service.versions import create_draft, publish
from leadscore.store import tables as T

from ..engine_sql.strategies import AS_OF, models, populations
from .helpers import postgres_schema

CONTINUOUS = ("half_life", "linear")


def _service(url: str) -> Service:
    settings = load_settings(
        {"database": url, "sweep_interval": 0, "outbox_poll_interval": 0}, env={}
    )
    return Service(settings)


def _publish(svc: Service, text: str) -> None:
    draft = create_draft(svc, text, {}, "test")
    publish(svc, draft["name"], draft["version"], "test", fire_triggers=False)


def _load(svc: Service, contacts: list[dict], events: list[dict], base: datetime) -> None:
    now = datetime.now(UTC)
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
            ts=min(base + (e["ts"] - AS_OF), now),
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
    """Each contact scored from scratch as of ``at``, from all its stored events."""
    with svc.store.read() as conn:
        (pub,) = svc.published(conn)
        contacts, events, adjustments = load_inputs(conn, ids)
    return {
        cid: score_one(pub, contacts[cid], events.get(cid, []), adjustments.get(cid, []), at)
        for cid in ids
    }


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
    is at work, else as shown: the total to one decimal, grade, stage, excluded).
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
                seen = (round(row.total, 1), row.grade, row.stage, row.excluded)
                want = (round(ref.total, 1), ref.result.grade, ref.stage, ref.result.excluded)
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


SETTINGS = dict(
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a store per example: no shrinking
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
STEPS = st.lists(
    st.one_of(
        st.sampled_from([1, 59, 60, 61, 3599, 3600, 3601, 86399, 86400, 86401]),
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
        assert svc.sweep(now=later) == 10
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

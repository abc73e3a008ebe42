"""The next instant a score can change by time alone (engine/horizon.py): never later
than the real change, exact for steps, close for continuous decay."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadscore import load_model, score_contact
from leadscore.engine.horizon import TICK, Horizon, model_watch, next_change
from leadscore.engine.result import ScoreResult

from ..engine_sql.strategies import AS_OF, models, populations

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def scored(model, contact, events, at):
    horizon = Horizon(at)
    result = score_contact(model, contact, events, as_of=at, horizon=horizon)
    return result, horizon


def shown(r: ScoreResult) -> tuple:
    groups = tuple(sorted((g, round(v, 1)) for g, v in r.groups.items()))
    return (round(r.total, 1), groups, r.grade, r.stage, r.excluded, r.matrix, r.quadrant)


def exact(r: ScoreResult) -> tuple:
    cells = (r.matrix, r.quadrant)
    return (r.total, r.grade, r.stage, r.excluded, tuple(sorted(r.groups.items())), cells)


def upcoming(model, contact, events, at):
    result, horizon = scored(model, contact, events, at)
    return result, horizon, next_change(model, result, horizon, model_watch(model, 0.1))


def test_a_window_changes_the_score_just_after_the_event_leaves_it():
    m = load_model(
        {
            "name": "w",
            "groups": {
                "eng": {
                    "rules": [{"name": "v", "on": {"type": "view"}, "points": 5, "within": "1d"}]
                }
            },
        }
    )
    ts = T0 - timedelta(hours=3)
    events = [{"type": "view", "ts": ts}]
    result, _, nxt = upcoming(m, {"id": "c"}, events, T0)
    assert result.total == 5
    assert nxt == ts + timedelta(days=1) + TICK
    assert score_contact(m, {"id": "c"}, events, as_of=nxt - TICK).total == 5
    assert score_contact(m, {"id": "c"}, events, as_of=nxt).total == 0
    # once out of the window nothing is left to change
    assert upcoming(m, {"id": "c"}, events, nxt)[2] is None


def test_no_event_rule_that_reads_time_means_no_next_change():
    m = load_model(
        {
            "name": "p",
            "groups": {
                "fit": {"rules": [{"name": "fr", "when": {"country": "FR"}, "points": 10}]},
                "eng": {"rules": [{"name": "v", "on": {"type": "view"}, "points": 5}]},
            },
        }
    )
    events = [{"type": "view", "ts": T0 - timedelta(days=400)}]
    assert upcoming(m, {"id": "c", "country": "FR"}, events, T0)[2] is None


def test_an_event_stamped_after_the_scoring_time_counts_from_its_time():
    m = load_model(
        {
            "name": "p",
            "groups": {"eng": {"rules": [{"name": "v", "on": {"type": "view"}, "points": 5}]}},
        }
    )
    later = T0 + timedelta(minutes=7)
    _, _, nxt = upcoming(m, {"id": "c"}, [{"type": "view", "ts": later}], T0)
    assert nxt == later


def test_half_life_next_change_is_just_before_the_shown_total_moves():
    m = load_model(
        {
            "name": "h",
            "groups": {
                "eng": {
                    "decay": {"half_life": "1d"},
                    "rules": [{"name": "v", "on": {"type": "view"}, "points": 10}],
                }
            },
        }
    )
    events = [{"type": "view", "ts": T0}]
    result, _, nxt = upcoming(m, {"id": "c"}, events, T0)
    assert result.total == 10
    assert nxt is not None
    # 10 * 0.5**(t/1d) reaches 9.95 (where it shows 9.9) at t = log2(10/9.95) days
    import math

    real = T0 + timedelta(days=math.log2(10 / 9.95))
    assert nxt <= real
    assert real - nxt < timedelta(seconds=60)  # the linear bound is tight this early
    assert round(score_contact(m, {"id": "c"}, events, as_of=nxt).total, 1) == 10.0
    assert (
        round(score_contact(m, {"id": "c"}, events, as_of=real + timedelta(seconds=1)).total, 1)
        == 9.9
    )


def test_a_saturated_cap_holds_the_score_until_decay_brings_it_under():
    m = load_model(
        {
            "name": "h",
            "groups": {
                "eng": {
                    "decay": {"half_life": "1d"},
                    "rules": [
                        {"name": "v", "on": {"type": "view"}, "points": 10, "max_points": 10}
                    ],
                }
            },
        }
    )
    events = [{"type": "view", "ts": T0} for _ in range(4)]  # 40 decayed points, cap 10
    events = [{**e, "id": f"e{i}"} for i, e in enumerate(events)]
    result, _, nxt = upcoming(m, {"id": "c"}, events, T0)
    assert result.total == 10
    assert nxt is not None and nxt - T0 > timedelta(hours=20)  # 40 → 10 takes two half-lives
    assert score_contact(m, {"id": "c"}, events, as_of=nxt).total == 10


SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
SHARES = st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=4)


@settings(max_examples=300, **SETTINGS)
@given(
    raw=models(),
    data=populations(max_contacts=3),
    start=st.sampled_from([0, 1, 3600, 86400, -3600]),
    shares=SHARES,
)
def test_nothing_shown_changes_before_the_next_change(raw, data, start, shares):
    """Random models, contacts and events: between a score's time and its next change,
    the score shows the same at every time tried (the exact same numbers when no
    continuous decay is at work), and at the instants where steps happen."""
    model = load_model(raw)
    contacts, events = data
    t0 = AS_OF + timedelta(seconds=start)
    for contact in contacts:
        mine = [e for e in events if e["contact_id"] == contact["id"]]
        result, horizon, nxt = upcoming(model, contact, mine, t0)
        same = shown if horizon.drift else exact
        end = nxt if nxt is not None else t0 + timedelta(days=30)
        span = end - t0
        probes = [end - TICK, *(t0 + span * (k / 16) for k in range(1, 16))]
        probes += [t0 + span * share for share in shares]
        for t in probes:
            if t0 <= t < end:
                later = score_contact(model, contact, mine, as_of=t)
                assert same(later) == same(result), (t0, t, nxt)


def test_a_decaying_engagement_is_due_when_it_leaves_its_matrix_band():
    m = load_model(
        {
            "name": "cells",
            "groups": {
                "fit": {"rules": [{"name": "fr", "when": {"country": "FR"}, "points": 10}]},
                "eng": {
                    "decay": {"half_life": "10d"},
                    "rules": [{"name": "v", "on": {"type": "view"}, "points": 40}],
                },
            },
            "matrix": {"fit": "fit", "letters": {"A": 10, "else": "B"}, "engagement": "eng"}
            | {"bands": [20]},
            "thresholds": [{"stage": "Call", "when": {"matrix": "A1"}}],
        }
    )
    contact = {"id": "c", "country": "FR"}
    events = [{"type": "view", "ts": T0}]
    # as of when 40 has decayed to 20.04: shown as 20.0 until 19.95, but band 1 ends at 20
    at = T0 + timedelta(days=10 * math.log2(40 / 20.04))
    result, _, nxt = upcoming(m, contact, events, at)
    assert round(result.groups["eng"], 1) == 20.0
    assert (result.matrix, result.stage) == ("A1", "Call")
    assert nxt is not None
    before = score_contact(m, contact, events, as_of=nxt - TICK)
    assert (before.matrix, before.stage) == ("A1", "Call")
    later = score_contact(m, contact, events, as_of=T0 + timedelta(days=10, seconds=1))
    assert (later.matrix, later.stage) == ("A2", None)
    assert nxt <= T0 + timedelta(days=10, seconds=1)

"""Properties that hold for every input: decay, caps, determinism."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from leadscore import load_model, score_contact
from leadscore.engine.decay import decay_factor
from leadscore.model.schema import Decay

from ..conftest import EXAMPLES

AS_OF = datetime(2026, 3, 1, tzinfo=UTC)

durations = st.integers(min_value=60, max_value=400 * 86400)
decays = st.one_of(
    st.just(Decay(kind="none")),
    durations.map(lambda s: Decay(kind="half_life", seconds=s)),
    durations.map(lambda s: Decay(kind="linear", seconds=s)),
    durations.map(lambda s: Decay(kind="expires", seconds=s)),
    st.lists(st.tuples(durations, st.floats(0, 1)), min_size=1, max_size=4).map(
        lambda pairs: Decay(
            kind="steps",
            steps=[
                {"until": u, "factor": f}
                for u, f in zip(
                    sorted({u for u, _ in pairs}),
                    sorted((f for _, f in pairs), reverse=True),
                    strict=False,
                )
            ],
        )
    ),
)
ages = st.floats(min_value=0, max_value=1000 * 86400, allow_nan=False)


@given(decays, ages, ages)
def test_decay_is_monotone_in_age_and_within_bounds(decay, a, b):
    young, old = min(a, b), max(a, b)
    fy, fo = decay_factor(decay, young), decay_factor(decay, old)
    assert 0.0 <= fo <= fy <= 1.0


@given(decays)
def test_fresh_events_keep_full_points_except_step_tables(decay):
    if decay.kind != "steps":
        assert decay_factor(decay, 0.0) == 1.0


event_types = st.sampled_from(["page_view", "email_click", "form_submit"])
events = st.lists(
    st.builds(
        lambda t, age, key: {
            "type": t,
            "ts": AS_OF - timedelta(seconds=age),
            **({"event_id": f"e{key}"} if key is not None else {}),
        },
        event_types,
        st.integers(min_value=-86400, max_value=200 * 86400),
        st.one_of(st.none(), st.integers(0, 5)),
    ),
    max_size=25,
)
points = st.integers(min_value=-20, max_value=20).filter(bool)
caps = st.integers(min_value=1, max_value=50)


@settings(max_examples=60, deadline=None)
@given(events, points, caps, decays)
def test_cap_never_exceeded_and_decay_never_adds(evs, pts, cap, decay):
    model = load_model(
        {
            "name": "p",
            "scale": {"min": -10000, "max": 10000},
            "groups": {
                "g": {
                    "rules": [
                        {
                            "name": "Capped",
                            "on": {"type": "page_view"},
                            "points": pts,
                            "max_points": cap,
                            "decay": decay.model_dump(),
                        },
                        {
                            "name": "Raw",
                            "on": {"type": "page_view"},
                            "points": pts,
                            "decay": decay.model_dump(),
                        },
                    ]
                }
            },
        }
    )
    result = score_contact(model, {"id": "c"}, evs, as_of=AS_OF)
    capped, raw = result.breakdown
    assert abs(capped.points) <= cap
    assert abs(raw.points_decayed) <= abs(raw.points_raw) + 1e-9
    assert capped.points_decayed == raw.points_decayed
    # shuffling the input does not change the result
    again = score_contact(model, {"id": "c"}, list(reversed(evs)), as_of=AS_OF)
    assert again.total == result.total or abs(again.total - result.total) < 1e-9


@settings(max_examples=40, deadline=None)
@given(events)
def test_same_inputs_and_as_of_give_the_same_score(evs):
    model = load_model(EXAMPLES / "b2b_saas.yaml")
    contact = {"id": "c", "country": "FR", "employees": "120", "job_title": "CTO"}
    first = score_contact(model, contact, evs, as_of=AS_OF)
    second = score_contact(model, dict(contact), [dict(e) for e in evs], as_of=AS_OF)
    assert first == second

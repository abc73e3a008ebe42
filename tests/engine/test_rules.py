"""Each rule kind on tiny inputs whose scores are worked out by hand."""

from datetime import UTC, datetime, timedelta

import pytest

from leadscore import Event, load_model, score_contact
from leadscore.errors import DataError

AS_OF = datetime(2026, 3, 1, tzinfo=UTC)


def days_ago(n: float, **attrs) -> dict:
    return {"ts": AS_OF - timedelta(days=n), **attrs}


def model(rules: str, extra: str = "", group: str = "") -> object:
    return load_model(
        "name: t\nscale: {min: -1000, max: 1000}\ngroups:\n  g:\n"
        + group
        + "    rules:\n"
        + rules
        + extra
    )


def score(m, contact=None, events=()):
    return score_contact(m, contact or {"id": "c"}, events, as_of=AS_OF)


def test_property_rule_and_cases():
    m = model(
        "      - {name: FR, when: {country: FR}, points: 10}\n"
        "      - name: Size\n        cases:\n"
        "          - {when: {employees: {gte: 500}}, points: 20}\n"
        "          - {when: {employees: {gte: 50}}, points: 10}\n"
        "        else: -5\n"
    )
    assert score(m, {"country": "FR", "employees": "600"}).total == 10 + 20
    assert score(m, {"country": "DE", "employees": "60"}).total == 10
    r = score(m, {"country": "fr"})
    assert r.total == 10 - 5
    assert [h.detail for h in r.fired()] == [None, "else"]


def test_event_rule_points_per_event_with_cap():
    m = model("      - {name: Views, on: {type: page_view}, points: 4, max_points: 10}\n")
    two = [days_ago(1, type="page_view"), days_ago(2, type="page_view")]
    assert score(m, events=two).total == 8
    three = [*two, days_ago(3, type="page_view"), days_ago(3, type="email_open")]
    hit = score(m, events=three).breakdown[0]
    assert (hit.matched, hit.points_raw, hit.points, hit.capped) == (3, 12, 10, True)


def test_negative_points_cap_symmetric():
    m = model("      - {name: Careers, on: {type: page_view}, points: -4, max_points: 10}\n")
    evs = [days_ago(i, type="page_view") for i in range(4)]
    assert score(m, events=evs).total == -10


def test_window_is_inclusive_and_future_events_ignored():
    m = model("      - {name: Recent, on: {type: x}, points: 1, within: 30d}\n")
    evs = [days_ago(30, type="x"), days_ago(30.0001, type="x"), days_ago(-1, type="x")]
    assert score(m, events=evs).total == 1


def test_duplicate_deliveries_count_once():
    m = model("      - {name: Forms, on: {type: form_submit}, points: 5}\n")
    evs = [
        days_ago(1, type="form_submit", event_id="e1"),
        days_ago(1, type="form_submit", event_id="e1"),
        days_ago(2, type="form_submit"),
    ]
    assert score(m, events=evs).total == 10


def test_limits_keep_latest_per_key():
    m = model(
        "      - {name: Daily, on: {type: v}, points: 1, limit: {count: 1, per: day}}\n"
        "      - {name: Once, on: {type: d}, points: 10, limit: once,"
        " decay: {linear: 10d}}\n"
        "      - {name: Assets, on: {type: a}, points: 3, limit: {count: 1, per: asset_id}}\n"
    )
    evs = [
        {"ts": "2026-02-28T01:00:00Z", "type": "v"},
        {"ts": "2026-02-28T23:00:00Z", "type": "v"},
        {"ts": "2026-02-27T12:00:00Z", "type": "v"},
        days_ago(5, type="d"),
        days_ago(8, type="d"),
        days_ago(1, type="a", asset_id="x"),
        days_ago(2, type="a", asset_id="x"),
        days_ago(1, type="a", asset_id="y"),
        days_ago(1, type="a"),
        days_ago(2, type="a"),
    ]
    r = score(m, events=evs)
    daily, once, assets = r.breakdown
    assert daily.points == 2  # two calendar days
    assert once.matched == 1 and once.points == pytest.approx(10 * (1 - 5 / 10))  # latest kept
    assert assets.points == 9  # x, y and the bucket without asset_id


def test_frequency_rule():
    m = model("      - {name: Busy, on: {type: [v, c]}, at_least: 3, within: 7d, points: 10}\n")
    evs = [days_ago(1, type="v"), days_ago(2, type="c")]
    assert score(m, events=evs).total == 0
    assert score(m, events=[*evs, days_ago(7, type="V")]).total == 10
    assert score(m, events=[*evs, days_ago(8, type="v")]).total == 0


def test_inactivity_rule():
    m = model(
        "      - {name: Quiet, inactive_for: 30d, points: -20}\n"
        "      - {name: QuietNever, inactive_for: 30d, on: {type: open}, points: -5,"
        " or_never: true}\n"
    )
    assert score(m).total == -5  # never active: only or_never fires
    assert score(m, events=[days_ago(30, type="x")]).total == -5  # exactly 30 days: not yet
    assert score(m, events=[days_ago(31, type="x")]).total == -25
    # a recent "open" is an event too: neither rule fires
    assert score(m, events=[days_ago(31, type="x"), days_ago(2, type="open")]).total == 0
    assert score(m, events=[days_ago(2, type="x"), days_ago(40, type="open")]).total == -5


def test_completeness_rule():
    m = model("      - {name: Complete, properties: [phone, company, title], points: 2}\n")
    r = score(m, {"phone": "+33 1", "company": " ", "title": "CEO"})
    assert r.total == 4 and r.breakdown[0].detail == "2 of 3 filled"


@pytest.mark.parametrize(
    "decay,age_days,factor",
    [
        ("none", 100, 1.0),
        ("{half_life: 10d}", 10, 0.5),
        ("{half_life: 10d}", 20, 0.25),
        ("{linear: 40d}", 10, 0.75),
        ("{linear: 40d}", 50, 0.0),
        ("{expires: 5d}", 5, 1.0),
        ("{expires: 5d}", 5.5, 0.0),
        ("{steps: [{until: 7d, factor: 1}, {until: 30d, factor: 0.5}]}", 7, 1.0),
        ("{steps: [{until: 7d, factor: 1}, {until: 30d, factor: 0.5}]}", 8, 0.5),
        ("{steps: [{until: 7d, factor: 1}, {until: 30d, factor: 0.5}]}", 31, 0.0),
    ],
)
def test_decay_kinds(decay, age_days, factor):
    m = model(f"      - {{name: E, on: {{type: x}}, points: 8, decay: {decay}}}\n")
    assert score(m, events=[days_ago(age_days, type="x")]).total == pytest.approx(8 * factor)


def test_group_decay_is_default_and_rule_can_switch_it_off():
    m = model(
        "      - {name: A, on: {type: a}, points: 8}\n"
        "      - {name: B, on: {type: b}, points: 8, decay: none}\n",
        group="    decay: {half_life: 1d}\n",
    )
    r = score(m, events=[days_ago(2, type="a"), days_ago(2, type="b")])
    assert [h.points for h in r.breakdown] == [2.0, 8.0]


def test_weighted_mean_group_sinks_with_negative_criterion():
    m = load_model(
        """
name: sheet
groups:
  profile:
    combine: weighted_mean
    rules:
      - {name: Budget, weight: 3, when: {budget: {gte: 1000}}, points: 100}
      - {name: Country, weight: 1, when: {country: {not_in: [FR]}}, points: -500}
"""
    )
    assert score(m, {"budget": "5000", "country": "FR"}).groups["profile"] == 75
    r = score(m, {"budget": "5000", "country": "DE"})
    assert r.groups["profile"] == (300 - 500) / 4 and r.total == 0


def test_group_bounds_total_weights_and_scale():
    m = load_model(
        """
name: t
scale: {min: 0, max: 50}
total: {weights: {a: 0.5, b: 2}}
groups:
  a:
    max: 30
    rules: [{name: A, when: {x: 1}, points: 40}]
  b:
    min: -5
    rules: [{name: B, when: {y: 1}, points: -10}]
"""
    )
    r = score(m, {"x": 1, "y": 1})
    assert r.groups == {"a": 30, "b": -5}
    assert r.total == 0.5 * 30 + 2 * -5  # 5
    assert score(m, {"x": 1}).total == 15
    assert score(m, {"x": 1, "y": "0"}).total == 15


def test_exclusions_grades_thresholds():
    m = load_model(
        """
name: t
groups:
  fit:
    rules: [{name: Size, when: {employees: {gte: 50}}, points: 40}]
  eng:
    rules: [{name: Demo, on: {type: demo}, points: 30}]
exclusions:
  - {name: Competitor, when: {domain: rival.example}}
  - {name: Unsubscribed, on: {type: unsubscribe}, within: 10d}
grades: {fit: {A: 40, B: 20}}
thresholds:
  - {stage: SQL, when: {total: {gte: 60}, grade: A}}
  - {stage: MQL, when: {total: {gte: 30}}}
default_stage: lead
"""
    )
    big = {"employees": "100"}
    r = score(m, big, [days_ago(1, type="demo")])
    assert (r.total, r.grade, r.stage) == (70, "A", "SQL")
    assert score(m, {"employees": "10"}, [days_ago(1, type="demo")]).stage == "MQL"
    assert score(m, {}).stage == "lead" and score(m, {}).grade == "D"
    r = score(m, {**big, "domain": "rival.example"}, [days_ago(1, type="unsubscribe")])
    assert r.excluded and r.total == 0 and r.stage is None
    assert r.exclusion_reasons == ("Competitor", "Unsubscribed")
    assert r.groups == {"fit": 40, "eng": 0}
    old_unsub = score(m, big, [days_ago(11, type="unsubscribe")])
    assert not old_unsub.excluded


def test_reset_on_stage_counts_only_since_stage_entered():
    m = model("      - {name: E, on: {type: x}, points: 5}\n", group="    reset_on_stage: true\n")
    evs = [days_ago(1, type="x"), days_ago(10, type="x")]
    assert score(m, {}, evs).total == 10
    since = {"lifecycle_stage_entered_at": (AS_OF - timedelta(days=5)).isoformat()}
    assert score(m, since, evs).total == 5
    assert score(m, {"lifecycle_stage_entered_at": "not a time"}, evs).total == 10


def test_untouched_contact_scores_zero_with_no_rules_fired():
    m = model("      - {name: E, on: {type: x}, points: 5}\n")
    r = score(m, {"id": "c9"})
    assert (r.total, r.rules_fired, r.contact_id) == (0, 0, "c9")


def test_events_as_objects_and_mappings_agree():
    m = model("      - {name: E, on: {type: x, url: {contains: a}}, points: 5}\n")
    ts = AS_OF - timedelta(hours=1)
    as_obj = score(m, events=[Event(type="x", ts=ts, attributes={"url": "/a"})])
    as_map = score(m, events=[{"type": "x", "ts": ts.isoformat(), "url": "/a"}])
    assert as_obj.total == as_map.total == 5


def test_bad_event_input():
    m = model("      - {name: E, on: {type: x}, points: 5}\n")
    with pytest.raises(DataError, match="cannot read 'yesterday' as a time"):
        score(m, events=[{"type": "x", "ts": "yesterday"}])
    with pytest.raises(DataError, match="no 'type'"):
        score(m, events=[{"ts": "2026-01-01"}])


def test_group_scores_are_numbers_even_when_empty():
    m = load_model(
        "name: t\ngroups:\n  empty: {}\n  g:\n    rules: [{name: A, when: {x: 1}, points: 2}]\n"
        "thresholds:\n  - {stage: S, when: {empty: false}}\n"
    )
    r = score(m, {"x": 1})
    assert r.groups == {"empty": 0.0, "g": 2.0}
    assert isinstance(r.groups["empty"], float)
    assert r.stage is None  # a score is a number, never the boolean false


def test_times_out_of_range_are_a_data_error():
    m = model("      - {name: E, on: {type: x}, points: 5}\n")
    with pytest.raises(DataError, match="out of range"):
        score(m, events=[{"type": "x", "ts": "0001-01-01T00:00:00+05:00"}])

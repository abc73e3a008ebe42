"""Bounds no score can live with are refused, each at its line, with the fix."""

import textwrap

import pytest

from leadscore import ModelError, load_model


def problems(text: str):
    with pytest.raises(ModelError) as info:
        load_model(textwrap.dedent(text))
    return info.value.problems


def one(text: str):
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


def test_a_negative_group_max_is_refused_at_its_line():
    p = one(
        """\
        name: t
        groups:
          fit:
            max: -5
            rules:
              - {name: a, when: {x: 1}, points: 10}
        """
    )
    assert p.dotted_path == "groups.fit.max"
    assert p.line == 4
    assert "max -5 is below 0" in p.message
    assert "use 0 or more" in p.hint


def test_a_group_max_of_zero_is_a_penalty_group_and_allowed():
    model = load_model(
        {
            "name": "t",
            "groups": {
                "risk": {"max": 0, "rules": [{"name": "a", "when": {"x": 1}, "points": -5}]}
            },
        }
    )
    assert model.groups["risk"].max == 0


def test_min_above_max_is_refused_with_the_fix():
    p = one(
        """\
        name: t
        groups:
          fit:
            min: 50
            max: 10
            rules: []
        """
    )
    assert p.dotted_path == "groups.fit.min"
    assert p.line == 4
    assert "min 50 is above max 10" in p.message
    assert "min at most max" in p.hint


def test_account_group_bounds_are_checked_too():
    found = problems(
        """\
        name: t
        groups: {fit: {rules: []}}
        account:
          groups:
            afit:
              max: -1
              rules: []
        """
    )
    assert [p.dotted_path for p in found] == ["account.groups.afit.max"]


def test_a_cap_at_or_below_zero_is_refused():
    p = one(
        """\
        name: t
        groups:
          eng:
            rules:
              - {name: a, on: {type: page_view}, points: 5, max_points: -10}
        """
    )
    assert "max_points must be above zero" in p.message


@pytest.mark.parametrize(
    ("when", "fragment"),
    [
        ("{total: {gte: 150}}", "the scale is 0–100 (the most it can be is 100)"),
        ("{total: {gt: 100}}", "the most it can be is 100"),
        ("{total: {lt: 0}}", "the least it can be is 0"),
        ("{total: {between: [120, 200]}}", "the most it can be is 100"),
        ("{fit: {gte: 80}}", "fit is held within -∞–60"),
        ("{all: [{fit: {gte: 10}}, {total: {gte: 101}}]}", "needs total ≥ 101"),
    ],
)
def test_a_threshold_outside_the_score_range_is_refused(when, fragment):
    p = one(
        f"""\
        name: t
        groups:
          fit:
            max: 60
            rules:
              - {{name: a, when: {{x: 1}}, points: 10}}
        thresholds:
          - stage: MQL
            when: {when}
        """
    )
    assert p.line == 9
    assert "stage 'MQL' can never be reached" in p.message
    assert fragment in p.message
    assert p.hint.startswith("use a value inside")


@pytest.mark.parametrize(
    "when", ["{total: {gte: 100}}", "{total: {lte: 0}}", "{any: [{total: {gte: 500}}, {fit: 1}]}"]
)
def test_thresholds_at_the_edges_or_in_an_any_are_allowed(when):
    load_model(
        textwrap.dedent(
            f"""\
            name: t
            groups: {{fit: {{max: 60, rules: []}}}}
            thresholds:
              - stage: MQL
                when: {when}
            """
        )
    )


def test_a_grade_above_the_groups_max_is_refused():
    p = one(
        """\
        name: t
        groups:
          fit:
            max: 40
            rules: []
        grades: {fit: {A: 45, B: 30, C: 15}}
        """
    )
    assert p.dotted_path == "grades.fit.A"
    assert p.line == 6
    assert "grade A needs fit ≥ 45" in p.message
    assert "lower A's minimum to 40 or less" in p.hint


def test_a_crossing_trigger_out_of_range_is_refused():
    p = one(
        """\
        name: t
        groups: {fit: {rules: []}}
        triggers:
          - name: hot
            on: {crosses: {score: total, above: 120}}
            actions: [{webhook: {url: "https://crm.example/hook"}}]
        """
    )
    assert p.dotted_path == "triggers[0].on.crosses.above"
    assert "trigger 'hot' can never fire" in p.message


def test_the_example_models_pass():
    from pathlib import Path

    for path in sorted(Path(__file__).parents[2].joinpath("examples").glob("*.yaml")):
        load_model(path)

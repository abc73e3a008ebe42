"""Validation: every problem at once, each located at its line and column."""

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


BASE = """\
name: t
groups:
  fit:
    rules:
"""


def test_example_models_validate(examples_dir):
    files = sorted(examples_dir.glob("*.yaml"))
    assert files, "no example models"
    for path in files:
        model = load_model(path)
        assert model.groups


def test_a_decay_kind_on_the_rule_is_sent_under_decay():
    p = one(
        BASE + "      - name: a\n        on: {type: page_view}\n        points: 3\n"
        "        expires: 4d\n"
    )
    assert p.message == "unknown key 'expires'"
    assert p.hint == "expires is a kind of decay: write it under decay, as decay: {expires: 4d}"


@pytest.mark.parametrize(("key", "meant"), [("window", "within"), ("cap", "max_points")])
def test_another_tools_word_for_a_key_names_ours(key, meant):
    p = one(
        BASE + f"      - name: a\n        on: {{type: page_view}}\n        points: 3\n"
        f"        {key}: 4\n"
    )
    assert p.message == f"unknown key {key!r}"
    assert p.hint == f"did you mean {meant!r}?"


def test_unknown_key_suggests_the_right_one():
    p = one(BASE + "      - name: a\n        when: {country: FR}\n        pionts: 3\n")
    assert p.message == "unknown key 'pionts'"
    assert p.hint == "did you mean 'points'?"
    assert (p.line, p.column) == (7, 9)
    assert p.dotted_path == "groups.fit.rules[0].pionts"


def test_every_error_reported_at_once():
    found = problems(
        BASE
        + """\
      - name: a
        when: {country: {inn: [FR]}}
        points: ten
      - name: b
        on: {type: page_view}
        points: 3
        max_points: -4
        within: 3 months
      - name: c
        when: {title: {matches: "(abc"}}
        points: 1
"""
    )
    messages = [p.message for p in found]
    assert len(found) == 5, messages
    assert "unknown operator 'inn'" in messages[0] and found[0].line == 6
    assert messages[1] == "expected a number, got 'ten'" and found[1].line == 7
    assert "max_points must be above zero" in messages[2] and found[2].line == 11
    assert "months and years vary" in messages[3] and found[3].line == 12
    assert "bad regular expression" in messages[4] and found[4].line == 14


def test_cross_references():
    found = problems(
        BASE
        + """\
      - name: a
        when: {country: FR}
        points: 1
      - name: a
        when: {country: BE}
        points: 1
grades: {fitt: {A: 10}}
thresholds:
  - stage: MQL
    when: {totl: {gte: 50}}
triggers:
  - name: t
    on: {enters: MQLL}
    actions: [{webhook: {url: "https://x.example/h"}}]
"""
    )
    by_message = {p.message: p for p in found}
    assert by_message["duplicate rule name 'a'"].line == 8
    assert by_message["grades use unknown group 'fitt'"].hint == "did you mean 'fit'?"
    assert by_message["threshold reads unknown score 'totl'"].hint == "did you mean 'total'?"
    assert by_message["trigger on unknown stage 'MQLL'"].hint == "did you mean 'MQL'?"


@pytest.mark.parametrize(
    "rule,fragment",
    [
        ("{name: a, points: 3}", "cannot tell what kind of rule"),
        ("{name: a, when: {x: 1}}", "needs 'points'"),
        ("{name: a, on: {type: x}, points: 1, decay: {half_lfe: 3d}}", "did you mean 'half_life'"),
        ("{name: a, on: {type: x}, points: 1, limit: {count: 0}}", "out of range"),
        ("{name: a, on: {type: x}, at_least: 0, points: 1}", "out of range"),
        ("{name: a, inactive_for: soon, points: -5}", "cannot read duration"),
        ("{name: a, properties: [], points: 1}", "must not be empty"),
        ("{name: a, when: {x: 1}, points: 1, weight: 2}", "only counts in a weighted_mean"),
        (
            "{name: a, on: {type: x}, points: 1, decay: {steps: [{until: 9d, factor: 1}, "
            "{until: 3d, factor: 0.5}]}}",
            "must increase",
        ),
        (
            "{name: a, on: {type: x}, points: 1, decay: {steps: [{until: 9d, factor: 2}]}}",
            "out of range",
        ),
        (
            "{name: a, on: {type: x}, points: 1, decay: {steps: [{until: 3d, factor: 0.5}, "
            "{until: 9d, factor: 1}]}}",
            "must not grow",
        ),
    ],
)
def test_rule_errors(rule, fragment):
    found = problems(BASE + f"      - {rule}\n")
    assert any(fragment in p.message or fragment in (p.hint or "") for p in found), found
    assert all(p.line is not None for p in found)


def test_duplicate_yaml_keys_are_refused():
    p = one("name: t\nname: u\ngroups: {fit: {rules: []}}\n")
    assert "appears twice" in p.message and p.line == 2


def test_malformed_yaml_has_a_location():
    p = one("name: t\ngroups:\n  fit: {rules: [\n")
    assert p.message.startswith("not valid YAML") and p.line is not None


def test_empty_and_missing_files(tmp_path):
    assert "empty" in one("").message
    with pytest.raises(ModelError, match="does not exist"):
        load_model(tmp_path / "nope.yaml")


def test_yaml_12_booleans_keep_on_and_no_as_text():
    model = load_model(
        BASE + "      - name: Norway\n        when: {country: [NO, SE]}\n        points: 1\n"
        "      - name: Views\n        on: {type: page_view}\n        points: 1\n"
    )
    rule = model.groups["fit"].rules[0]
    assert rule.when.value == ("NO", "SE")
    assert model.groups["fit"].rules[1].kind == "event"


def test_bad_group_and_scale():
    found = problems("name: t\nscale: {min: 10, max: 5}\ngroups:\n  total: {rules: []}\n")
    messages = " | ".join(p.message for p in found)
    assert "scale min 10" in messages


def test_control_characters_are_a_located_problem_not_a_crash():
    from leadscore.model import load_model_text

    with pytest.raises(ModelError) as info:
        load_model_text("name: t\ngroups:\n  fit: {rules: []}\nx: \x07\n")
    (p,) = info.value.problems
    assert p.message.startswith("not valid YAML") and p.line == 4


def test_text_that_looks_like_a_path_is_yaml_with_load_model_text():
    from leadscore.model import load_model_text

    with pytest.raises(ModelError, match="a model is a mapping"):
        load_model_text("examples/b2b_saas.yaml")

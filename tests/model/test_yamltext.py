"""Rules written as YAML text: values users typed read back as typed, and a rule added
to a model's text lands in its group with the rest of the text untouched."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadscore.errors import ModelError
from leadscore.model import load_model_text
from leadscore.model.conditions import Predicate
from leadscore.model.loader import parse_yaml
from leadscore.model.yamltext import BuildError, add_rule, flow, rule_block, scalar

HOSTILE = [
    "FR",
    "a: b",
    "key: value # not a comment",
    "# starts like a comment",
    'say "hi"',
    "it's",
    "two\nlines",
    "crlf\r\nline",
    "tab\there",
    "  padded  ",
    "",
    "yes",
    "NO",
    "on",
    "null",
    "~",
    "true",
    "50",
    "1e3",
    "0x1F",
    "2026-12-06",
    "[FR, BE]",
    "{a: 1}",
    "*alias",
    "&anchor",
    "!tag",
    "- item",
    "? key",
    "| block",
    "> folded",
    "%directive",
    "@at",
    "`tick`",
    "back\\slash",
    "line\u2028separator",
    "para\u2029separator",
    "next\x85line",
    "bom\ufeffinside",
    "bell\x07",
    "nul\x00",
    "del\x7f",
    "é ß Σ",
    "emoji 😀",
    "lone \ud800 surrogate",
    "/pricing?plan=pro&x=1",
    "---",
    "...",
]
MODEL = """name: m
groups:
  fit:
    rules:
      - name: Business email
        when: {email_type: business}   # keep this comment
        points: 20
  # engagement comes next
  engagement:
    rules:
    - name: Pricing page
      on: {type: page_view}
      points: 5
thresholds:
  - stage: MQL
    when: {total: {gte: 50}}
"""


def _reads(text: str) -> object:
    data, _ = parse_yaml(f"v: {text}\n", max_bytes=None)
    return data["v"]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_text_reads_back_as_the_same_text(value):
    assert _reads(scalar(value)) == value
    assert _reads(flow([value, {value: value}])) == [value, {value: value}]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_reads_back_as_the_same_text(value):
    assert _reads(scalar(value)) == value


@pytest.mark.parametrize(
    ("value", "written"),
    [("FR", "FR"), ("/pricing", "/pricing"), ("yes", "yes"), ("null", '"null"'), ("50", '"50"')],
)
def test_bare_only_when_the_loader_reads_it_as_that_text(value, written):
    # yes and NO stay text for this loader (only true/false are booleans); null and 50 do not
    assert scalar(value) == written


def test_numbers_and_booleans_stay_numbers_and_booleans():
    assert [_reads(scalar(v)) for v in (50, -3, 1.5, 2.0, True, False)] == [
        50,
        -3,
        1.5,
        2,
        True,
        False,
    ]
    with pytest.raises(BuildError):
        scalar(float("nan"))


# a form's text never holds a lone surrogate (bytes that are not UTF-8 are replaced)
@pytest.mark.parametrize("value", [v for v in HOSTILE if "\ud800" not in v])
def test_a_rule_with_a_hostile_value_and_name_loads_back_to_the_same_rule(value):
    rule = {"name": f"Rule {value}", "when": {"country": {"in": [value, "x"]}}, "points": 10}
    if value == "":
        rule["when"] = {"country": {"in": ["x", "y"]}}
    added = add_rule(MODEL, "fit", rule)
    model = load_model_text(added.text)
    built = model.groups["fit"].rules[-1]
    assert built.name == rule["name"]
    assert built.points == 10
    assert built.when == Predicate(
        field="country", op="in", value=tuple(rule["when"]["country"]["in"])
    )


@settings(max_examples=150, deadline=None)
@given(st.text(min_size=1), st.text(min_size=1).filter(lambda s: s.strip() != ""))
def test_any_property_name_and_value_load_back(field, value):
    if field in ("all", "any", "not"):
        return
    rule = {"name": "R", "when": {field: {"contains": value}}, "points": 1}
    model = load_model_text(add_rule(MODEL, "fit", rule).text)
    assert model.groups["fit"].rules[-1].when == Predicate(field=field, op="contains", value=value)


def test_the_rule_goes_after_the_groups_last_rule_and_nothing_else_moves():
    rule = {"name": "Target country", "when": {"country": "FR"}, "points": 10}
    added = add_rule(MODEL, "fit", rule)
    lines = MODEL.splitlines(keepends=True)
    block = "      - name: Target country\n        when: {country: FR}\n        points: 10\n"
    assert added.text == "".join(lines[:7]) + block + "".join(lines[7:])
    assert (added.first_line, added.last_line) == (8, 10)
    assert rule_block(rule, 6) == block


def test_an_indentless_list_keeps_its_indent():
    rule = {"name": "Demo", "on": {"type": "form_submit"}, "points": 40, "within": "30d"}
    added = add_rule(MODEL, "engagement", rule)
    assert (
        "    - name: Demo\n      on: {type: form_submit}\n      points: 40\n      within: 30d\n"
        in (added.text)
    )
    model = load_model_text(added.text)
    assert [r.name for r in model.groups["engagement"].rules] == ["Pricing page", "Demo"]
    assert model.groups["engagement"].rules[-1].within == 30 * 86400


def test_a_new_group_is_added_under_groups():
    added = add_rule(
        MODEL, "intent", {"name": "Big", "when": {"employees": {"gte": 500}}, "points": 5}
    )
    model = load_model_text(added.text)
    assert list(model.groups) == ["fit", "engagement", "intent"]
    assert "  intent:\n    rules:\n      - name: Big\n" in added.text
    assert added.text.endswith(MODEL[MODEL.index("thresholds:") :])


@pytest.mark.parametrize(
    "text",
    [
        "name: m\ngroups:\n  fit:\n    rules:\n",
        "name: m\ngroups:\n  fit:\n    rules: []   # none yet\n",
        "name: m\ngroups:\n  fit:\n    rules: ~\n",
        "name: m\ngroups:\n  fit:\n    max: 60\n",
        "name: m\ngroups:\n  fit:\n",
        "name: m\ngroups:\n",
        "name: m\n",
        "name: m\ngroups: {fit: {rules: [{name: a, when: {x: 1}, points: 2}]}}\n",
        "name: m\ngroups: {fit: {}}\n",
        "name: m\ngroups:\n  fit:\n    rules:\n    - name: a\n      when: {x: 1}\n      points: 2",
    ],
)
def test_every_layout_gets_the_rule_in_the_group(text):
    rule = {"name": 'Added: "it"', "when": {"country": {"in": ["FR", "a, b"]}}, "points": 3}
    before, _ = parse_yaml(text)
    added = add_rule(text, "fit", rule)
    after, _ = parse_yaml(added.text)
    assert after["groups"]["fit"]["rules"][-1] == rule
    assert {k: v for k, v in after.items() if k != "groups"} == {
        k: v for k, v in before.items() if k != "groups"
    }


def test_comments_and_the_rest_of_the_text_are_kept():
    added = add_rule(MODEL, "fit", {"name": "X", "when": {"a": 1}, "points": 1})
    assert "# keep this comment" in added.text and "# engagement comes next" in added.text
    assert (
        added.text.replace("      - name: X\n        when: {a: 1}\n        points: 1\n", "")
        == MODEL
    )


@pytest.mark.parametrize(
    ("text", "group", "message"),
    [
        ("name: m\ngroups: 5\n", "fit", "groups is not a mapping (line 2)"),
        ("name: m\ngroups:\n  fit:\n    rules: {a: 1}\n", "fit", "groups.fit.rules is not a list"),
        ("- a\n- b\n", "fit", "not a mapping"),
        ("name: m\n", "bad name", "a group name is letters"),
    ],
)
def test_what_cannot_take_a_rule_is_refused_saying_where(text, group, message):
    with pytest.raises(BuildError, match=message.replace("(", r"\(").replace(")", r"\)")):
        add_rule(text, group, {"name": "X", "when": {"a": 1}, "points": 1})


def test_text_that_is_not_yaml_is_refused_with_its_problem():
    with pytest.raises(ModelError, match="not valid YAML"):
        add_rule("name: [m\n", "fit", {"name": "X", "when": {"a": 1}, "points": 1})

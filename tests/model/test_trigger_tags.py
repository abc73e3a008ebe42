"""A trigger's tag and colour: what the pages show for the contacts it fired for."""

from __future__ import annotations

import pytest

from leadscore.errors import ModelError
from leadscore.model import load_model

BASE = """name: tags
groups: {fit: {rules: [{name: F, when: {f: "yes"}, points: 90}]}}
triggers:
  - TRIGGER
"""


def _trigger(text: str):
    return load_model(BASE.replace("TRIGGER", text)).triggers[0]


def test_a_tag_needs_no_action_and_a_colour_alone_tags_with_the_name():
    hot = _trigger('{name: Over 80, on: {crosses: {above: 80}}, tag: Hot, colour: "#dc2626"}')
    assert (hot.label, hot.colour, hot.actions) == ("Hot", "#dc2626", ())
    named = _trigger('{name: Over 80, on: {crosses: {above: 80}}, colour: "#f00"}')
    assert named.label == "Over 80"
    plain = _trigger("{name: Tell, on: {crosses: {above: 80}}, actions: [{email: {to: [a@b.c]}}]}")
    assert plain.label is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{name: Nothing, on: {crosses: {above: 80}}}", "a trigger needs actions"),
        (
            "{name: Red, on: {crosses: {above: 80}}, colour: red}",
            r"colour 'red' is not a colour the pages can show \(write it as #rgb or #rrggbb",
        ),
        ("{name: Long, on: {crosses: {above: 80}}, tag: " + "x" * 41 + "}", "triggers\\[0\\].tag"),
    ],
)
def test_tag_mistakes_are_refused_at_their_line(text, message):
    with pytest.raises(ModelError, match=message) as err:
        _trigger(text)
    assert "<model>:4:" in str(err.value)

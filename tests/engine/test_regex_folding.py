"""User regexes run on RE2 (linear time); case-insensitive tests fold case by one rule."""

from __future__ import annotations

import threading

import pytest

from leadscore.engine.conditions import predicate
from leadscore.engine.regex import _compiled
from leadscore.model.conditions import ConditionError, Predicate, parse_condition


def test_backtracking_pattern_runs_on_re2_and_finishes():
    pattern = r"^(\w+\s?)*$"
    assert type(_compiled(pattern)).__module__.startswith("re2")
    p = Predicate(field="url", op="matches", value=pattern)
    out: list[bool] = []
    worker = threading.Thread(
        target=lambda: out.append(predicate(p, "a" * 5000 + "!")), daemon=True
    )
    worker.start()
    worker.join(10)  # Python's re takes longer than the age of the universe here
    assert out == [False]


def test_back_reference_refused_at_validation_with_a_fix():
    with pytest.raises(ConditionError) as info:
        parse_condition({"title": {"matches": r"(a)\1"}})
    assert "back-references" in info.value.message and info.value.hint


@pytest.mark.parametrize(
    ("literal", "value", "equal"),
    [
        ("ΣΑΣ", "σας", True),
        ("İstanbul", "istanbul", False),
        ("ẞ", "ß", True),
        ("ß", "ss", False),
        ("K", "k", True),
        ("ꭰ", "Ꭰ", True),
        ("ı", "I", False),
    ],
)
def test_one_folding_rule(literal, value, equal):
    assert predicate(Predicate(field="x", op="eq", value=literal), value) is equal

"""The model reader refuses input built to exhaust the server: alias bombs, deep
nesting, huge files — quickly, with a located problem, without growing memory."""

from __future__ import annotations

import tracemalloc

import pytest

from leadscore import ModelError
from leadscore.model import load_model_text
from leadscore.model.loader import ALIAS_BUDGET, MAX_DEPTH, MAX_MODEL_BYTES

GOOD = "name: t\ngroups:\n  fit:\n    rules:\n      - {name: FR, when: {country: FR}, points: 5}\n"


def bomb(levels: int = 9, fan: int = 10) -> str:
    """The "billion laughs": each level lists the previous one ``fan`` times."""
    lines = ["name: t", "groups: {fit: {rules: []}}", 'a0: &a0 "lol"']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * fan) + "]")
    return "\n".join(lines) + "\n"


def refused(text: str, **limits):
    with pytest.raises(ModelError) as info:
        load_model_text(text, **limits)
    (problem,) = info.value.problems
    return problem


def test_an_alias_bomb_is_refused_at_the_alias_with_little_memory():
    tracemalloc.start()
    try:
        problem = refused(bomb())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # 10**9 strings once expanded; refused long before: well under 50 MB
    assert peak < 50_000_000, peak
    assert "alias" in problem.message and str(ALIAS_BUDGET) in problem.message
    assert problem.hint and "write" in problem.hint
    # located on the alias that goes over the budget: a1 to a3 add 10 + 110 + 1110
    # values, then the 8th *a3 of a4 (1111 each) passes 10000
    assert (problem.line, problem.column) == (7, 10 + 5 * 7)
    assert bomb().splitlines()[6][problem.column - 1 :].startswith("*a3")


def test_a_few_aliases_still_work():
    text = (
        "name: t\ngroups:\n  fit:\n    rules:\n"
        "      - {name: FR, when: &fr {country: FR}, points: 5}\n"
        "      - {name: FR again, when: *fr, points: 1}\n"
    )
    model = load_model_text(text)
    assert [r.when for r in model.groups["fit"].rules] == [model.groups["fit"].rules[0].when] * 2


def test_the_alias_budget_is_a_named_parameter():
    text = bomb(levels=2, fan=10)  # a2 adds 10 lists of 10: 110 values, a1 adds 10
    problem = refused(text, alias_budget=50)
    assert "50" in problem.message and problem.line == 5
    with pytest.raises(ModelError) as info:  # within the default: only unknown keys
        load_model_text(text)
    assert all("unknown key" in p.message for p in info.value.problems)


def test_an_alias_inside_its_own_anchor_is_refused_not_a_crash():
    problem = refused("name: t\ngroups: {fit: {rules: []}}\nx: &x [1, *x]\n")
    assert "contains it" in problem.message and problem.line == 3


@pytest.mark.parametrize("opener", ["[", "{a: ", "- "], ids=["brackets", "braces", "dashes"])
def test_deep_nesting_is_a_located_problem_not_a_crash(opener):
    text = opener * 50_000 if opener != "- " else "x:\n" + "- " * 5_000 + "1\n"
    problem = refused(text)
    assert f"more than {MAX_DEPTH} levels" in problem.message
    assert problem.line is not None and problem.hint


def test_nesting_within_the_limit_is_read():
    depth = MAX_DEPTH - 1
    text = GOOD + "description: " + "[" * depth + "]" * depth + "\n"
    with pytest.raises(ModelError) as info:  # read to the end: a list is not text
        load_model_text(text)
    assert "expected text" in info.value.problems[0].message


def test_model_size_is_capped_by_a_named_parameter():
    assert MAX_MODEL_BYTES >= 100_000
    padded = GOOD + "description: " + "x" * 2000 + "\n"
    problem = refused(padded, max_bytes=1000)
    assert "1000 bytes" in problem.message and str(len(padded.encode())) in problem.message
    assert problem.line == 1
    assert load_model_text(padded).name == "t"
    # bytes, not characters: 600 two-byte letters are 1200 bytes
    assert (
        "1000 bytes" in refused(GOOD + "description: " + "é" * 600 + "\n", max_bytes=1000).message
    )
    huge = GOOD + "description: " + "x" * MAX_MODEL_BYTES + "\n"
    assert "bytes" in refused(huge).message

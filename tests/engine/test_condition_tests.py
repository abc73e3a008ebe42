"""Conditions built once into functions (engine.conditions.test_of) decide exactly as
the operator-by-operator reference (engine.conditions.predicate) on random conditions
and records: blanks, numbers in text, booleans, case outside ASCII, regexes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from leadscore.engine import conditions as C
from leadscore.engine.conditions import evaluate, predicate
from leadscore.model.conditions import AllOf, AnyOf, Condition, Not, Predicate, parse_condition

from ..engine_sql.strategies import LITERALS, TEXTS, contact_conditions

FIELDS = ["a", "b", "n", "id"]
VALUES = st.one_of(
    st.none(), st.sampled_from(TEXTS), st.sampled_from([v for v in LITERALS if v != " "])
)
RECORDS = st.fixed_dictionaries({}, optional={f: VALUES for f in FIELDS})


def reference(cond: Condition, record: dict) -> bool:
    """The tree walked at every call, each predicate by the reference."""
    if isinstance(cond, Predicate):
        return predicate(cond, record.get(cond.field))
    if isinstance(cond, AllOf):
        return all(reference(c, record) for c in cond.items)
    if isinstance(cond, AnyOf):
        return any(reference(c, record) for c in cond.items)
    assert isinstance(cond, Not)
    return not reference(cond.item, record)


@settings(max_examples=400, deadline=None)
@given(contact_conditions, st.lists(RECORDS, min_size=1, max_size=6))
def test_built_conditions_decide_as_the_reference(raw, records):
    cond = parse_condition(raw)
    for record in records:
        assert evaluate(cond, record) is reference(cond, record), (raw, record)


def test_lists_mix_texts_numbers_and_booleans():
    cond = parse_condition({"n": [1, "ab", True]})
    assert [evaluate(cond, {"n": v}) for v in ("1.0", "AB", "yes", "2", "", None)] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    # 1 and True are different literals: "true" is not the number 1, "1" is
    only_number = parse_condition({"n": {"in": [1]}})
    assert evaluate(only_number, {"n": "true"}) is False
    assert evaluate(only_number, {"n": "1"}) is True


def test_a_condition_is_built_once_and_kept_with_its_function():
    cond = parse_condition({"a": {"contains": "Σ"}})
    first = C.test_of(cond)
    assert C.test_of(cond) is first
    assert first({"a": "ΑΣΑ"}) and first({"a": "ας"}) and not first({"a": None})
    other = parse_condition({"a": {"contains": "Σ"}})  # equal, but another object
    assert C.test_of(other)({"a": "σ"}) is True

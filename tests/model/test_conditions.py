import typing

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadscore.engine.conditions import evaluate
from leadscore.model.conditions import (
    OPERATORS,
    AllOf,
    AnyOf,
    ConditionError,
    Not,
    Operator,
    Predicate,
    parse_condition,
)


def holds(cond: dict, record: dict) -> bool:
    return evaluate(parse_condition(cond), record)


def test_shorthands():
    assert parse_condition({"country": "FR"}) == Predicate(field="country", op="eq", value="FR")
    assert parse_condition({"country": ["FR", "BE"]}) == Predicate(
        field="country", op="in", value=("FR", "BE")
    )
    both = parse_condition({"employees": {"gte": 50, "lt": 500}})
    assert isinstance(both, AllOf) and len(both.items) == 2
    assert isinstance(parse_condition({"any": [{"a": 1}, {"b": 2}]}), AnyOf)
    assert isinstance(parse_condition({"not": {"a": 1}}), Not)


@pytest.mark.parametrize(
    "cond,record,expected",
    [
        # eq: text ignores case, numbers compare numerically, booleans by word
        ({"country": "fr"}, {"country": "FR"}, True),
        ({"country": "FR"}, {"country": "FR "}, False),
        ({"employees": 50}, {"employees": "50.0"}, True),
        ({"employees": 50}, {"employees": "fifty"}, False),
        ({"active": True}, {"active": "Yes"}, True),
        ({"active": False}, {"active": "0"}, True),
        ({"active": True}, {"active": "maybe"}, False),
        # ne / not_in are true for missing values
        ({"country": {"ne": "FR"}}, {}, True),
        ({"country": {"ne": "FR"}}, {"country": "fr"}, False),
        ({"country": {"not_in": ["FR", "BE"]}}, {"country": " "}, True),
        ({"country": {"in": ["FR", "BE"]}}, {"country": "be"}, True),
        ({"country": {"in": ["FR", 32]}}, {"country": "32"}, True),
        # text operators ignore case; missing never matches
        ({"url": {"contains": "/Pricing"}}, {"url": "https://x.io/pricing?a"}, True),
        ({"url": {"contains": "/pricing"}}, {}, False),
        ({"email": {"ends_with": "@ACME.io"}}, {"email": "bo@acme.io"}, True),
        ({"title": {"starts_with": "vp"}}, {"title": "VP Sales"}, True),
        ({"title": {"matches": "^VP"}}, {"title": "vp sales"}, False),
        ({"title": {"matches": "(?i)^VP"}}, {"title": "vp sales"}, True),
        # numeric operators
        ({"n": {"gt": 5}}, {"n": "5"}, False),
        ({"n": {"gte": 5}}, {"n": " 5 "}, True),
        ({"n": {"lt": 5}}, {"n": -1}, True),
        ({"n": {"lte": 5}}, {"n": "1e1"}, False),
        ({"n": {"between": [1, 10]}}, {"n": "10"}, True),
        ({"n": {"between": [1, 10]}}, {"n": "10.5"}, False),
        ({"n": {"gt": 1}}, {"n": "abc"}, False),
        ({"n": {"gt": 1}}, {"n": "nan"}, False),
        # presence
        ({"phone": {"exists": True}}, {"phone": ""}, False),
        ({"phone": {"missing": True}}, {"phone": None}, True),
        ({"phone": {"exists": False}}, {}, True),
        # combinators
        ({"any": [{"a": 1}, {"b": 2}]}, {"b": "2"}, True),
        ({"all": [{"a": 1}, {"b": 2}]}, {"b": "2"}, False),
        ({"not": {"a": 1}}, {}, True),
    ],
)
def test_operators(cond, record, expected):
    assert holds(cond, record) is expected


@pytest.mark.parametrize(
    "cond,fragment,path",
    [
        ({"country": {"inn": ["FR"]}}, "did you mean 'in'", ("country", "inn")),
        ({"n": {"gte": "ten"}}, "needs a number", ("n", "gte")),
        ({"n": {"between": [10, 1]}}, "low 10 above high 1", ("n", "between")),
        ({"n": {"between": [1]}}, "needs [low, high]", ("n", "between")),
        ({"t": {"matches": "(abc"}}, "bad regular expression", ("t", "matches")),
        ({"c": {"in": []}}, "non-empty list", ("c", "in")),
        ({"c": None}, "no value given", ("c",)),
        ({"any": []}, "non-empty list", ("any",)),
        ({"c": {"exists": "yes"}}, "true or false", ("c", "exists")),
        ({"c": {"in": [["x"]]}}, "list items", ("c", "in", 0)),
        ("FR", "a condition is a mapping", ()),
    ],
)
def test_malformed_conditions_point_inside(cond, fragment, path):
    with pytest.raises(ConditionError) as info:
        parse_condition(cond)
    assert fragment in str(info.value) + " " + (info.value.hint or "")
    assert info.value.path == path


values = st.one_of(
    st.none(),
    st.text(max_size=6),
    st.integers(-100, 100),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
)


@given(value=values, literal=st.one_of(st.text(min_size=1, max_size=4), st.integers(-5, 5)))
def test_ne_is_exact_negation_of_eq(value, literal):
    rec = {"f": value}
    assert holds({"f": {"ne": literal}}, rec) is (not holds({"f": {"eq": literal}}, rec))
    assert holds({"f": {"not_in": [literal]}}, rec) is (not holds({"f": {"in": [literal]}}, rec))


@given(value=values)
def test_missing_and_exists_partition(value):
    rec = {"f": value}
    assert holds({"f": {"missing": True}}, rec) is not holds({"f": {"exists": True}}, rec)


@given(value=values, low=st.integers(-50, 50), width=st.integers(0, 50))
def test_between_is_gte_and_lte(value, low, width):
    rec = {"f": value}
    high = low + width
    assert holds({"f": {"between": [low, high]}}, rec) is holds(
        {"f": {"gte": low, "lte": high}}, rec
    )


def test_every_documented_operator_is_one_a_predicate_takes():
    # The parser accepts an operator when it is documented in OPERATORS, and then builds a
    # Predicate with it: the two lists must be the same.
    assert set(OPERATORS) == set(typing.get_args(Operator))

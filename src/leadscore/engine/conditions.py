"""Evaluate a condition tree against one record (a contact's properties, an
event's attributes, or a score). The semantics of values live in
:mod:`leadscore.engine.values`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from ..model.conditions import AllOf, AnyOf, Condition, Not, Predicate, Scalar
from . import values as V
from .folding import fold
from .regex import search


def _equals(value: Any, literal: Any) -> bool:
    if isinstance(literal, bool):
        return V.boolean(value) is literal
    if isinstance(literal, int | float):
        n = V.number(value)
        return n is not None and n == literal
    t = V.text(value)
    return t is not None and fold(t) == fold(literal)


def predicate(p: Predicate, value: Any) -> bool:
    # The parser gives each operator its kind of value (model.conditions._predicate):
    # a list for in/not_in, a number or [low, high] for numeric tests, text for text tests.
    op = p.op
    if op == "missing":
        return V.is_missing(value)
    if op == "exists":
        return not V.is_missing(value)
    if op == "eq":
        return _equals(value, p.value)
    if op == "ne":
        return not _equals(value, p.value)
    if op == "in":
        return any(_equals(value, item) for item in cast(tuple[Scalar, ...], p.value))
    if op == "not_in":
        return not any(_equals(value, item) for item in cast(tuple[Scalar, ...], p.value))
    if op in ("gt", "gte", "lt", "lte", "between"):
        n = V.number(value)
        if n is None:
            return False
        if op == "gt":
            return n > cast(float, p.value)
        if op == "gte":
            return n >= cast(float, p.value)
        if op == "lt":
            return n < cast(float, p.value)
        if op == "lte":
            return n <= cast(float, p.value)
        bounds = cast(tuple[float, float], p.value)
        return bounds[0] <= n <= bounds[1]
    t = V.text(value)
    if t is None:
        return False
    if op == "matches":
        return search(cast(str, p.value), t)
    low, needle = fold(t), fold(cast(str, p.value))
    if op == "contains":
        return needle in low
    if op == "starts_with":
        return low.startswith(needle)
    return low.endswith(needle)


Test = Callable[[Mapping[str, Any]], bool]
_TESTS: dict[int, tuple[Condition, Test]] = {}


def evaluate(cond: Condition, record: Mapping[str, Any]) -> bool:
    """Whether ``record`` satisfies ``cond`` (see :func:`test_of`)."""
    return test_of(cond)(record)


def test_of(cond: Condition) -> Test:
    """The condition as a function of a record, built once per condition: literals
    folded, lists split by kind, the operator chosen ahead (the in-process evaluator
    tests every event against every rule; :func:`predicate` stays the reference)."""
    hit = _TESTS.get(id(cond))
    if hit is not None and hit[0] is cond:
        return hit[1]
    fn = _build(cond)
    if len(_TESTS) >= 65_536:  # models come and go in a long-running service
        _TESTS.clear()
    _TESTS[id(cond)] = (cond, fn)  # the condition is kept, so its id stays its own
    return fn


def _build(cond: Condition) -> Test:
    if isinstance(cond, Predicate):
        return _predicate_test(cond)
    if isinstance(cond, AllOf):
        parts = tuple(_build(c) for c in cond.items)
        return lambda r: all(f(r) for f in parts)
    if isinstance(cond, AnyOf):
        parts = tuple(_build(c) for c in cond.items)
        return lambda r: any(f(r) for f in parts)
    if isinstance(cond, Not):
        inner = _build(cond.item)
        return lambda r: not inner(r)
    raise TypeError(f"not a condition: {cond!r}")


def _equals_test(literals: tuple[Scalar, ...]) -> Callable[[Any], bool]:
    """A value → whether it equals one of ``literals`` as :func:`_equals` decides."""
    bools = tuple(v for v in literals if isinstance(v, bool))
    numbers = frozenset(
        v for v in literals if isinstance(v, int | float) and not isinstance(v, bool)
    )
    texts = frozenset(fold(v) for v in literals if isinstance(v, str))

    def test(value: Any) -> bool:
        if texts:
            t = V.text(value)
            if t is not None and fold(t) in texts:
                return True
        if numbers:
            n = V.number(value)
            if n is not None and n in numbers:
                return True
        if bools:
            b = V.boolean(value)
            if any(b is x for x in bools):
                return True
        return False

    return test


def _predicate_test(p: Predicate) -> Test:
    field, op = p.field, p.op
    if op == "missing":
        return lambda r: V.is_missing(r.get(field))
    if op == "exists":
        return lambda r: not V.is_missing(r.get(field))
    if op in ("eq", "ne", "in", "not_in"):
        items = cast(tuple[Scalar, ...], p.value) if op in ("in", "not_in") else (p.value,)
        eq = _equals_test(cast(tuple[Scalar, ...], items))
        if op in ("eq", "in"):
            return lambda r: eq(r.get(field))
        return lambda r: not eq(r.get(field))
    if op in ("gt", "gte", "lt", "lte", "between"):
        return lambda r: predicate(p, r.get(field))  # V.number is the whole cost
    if op == "matches":
        pattern = cast(str, p.value)

        def matches(r: Mapping[str, Any]) -> bool:
            t = V.text(r.get(field))
            return t is not None and search(pattern, t)

        return matches
    needle = fold(cast(str, p.value))

    def text_test(r: Mapping[str, Any]) -> bool:
        t = V.text(r.get(field))
        if t is None:
            return False
        low = fold(t)
        if op == "contains":
            return needle in low
        if op == "starts_with":
            return low.startswith(needle)
        return low.endswith(needle)

    return text_test

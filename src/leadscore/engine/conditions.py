"""Evaluate a condition tree against one record (a contact's properties, an
event's attributes, or a score). The semantics of values live in
:mod:`leadscore.engine.values`."""

from __future__ import annotations

from collections.abc import Mapping
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


def evaluate(cond: Condition, record: Mapping[str, Any]) -> bool:
    if isinstance(cond, Predicate):
        return predicate(cond, record.get(cond.field))
    if isinstance(cond, AllOf):
        return all(evaluate(c, record) for c in cond.items)
    if isinstance(cond, AnyOf):
        return any(evaluate(c, record) for c in cond.items)
    if isinstance(cond, Not):
        return not evaluate(cond.item, record)
    raise TypeError(f"not a condition: {cond!r}")

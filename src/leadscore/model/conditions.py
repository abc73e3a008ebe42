"""Conditions: the small predicate language shared by rules, event filters,
exclusions and thresholds.

Written in YAML as a mapping from a field to a test::

    country: FR                          # equals (text, case-insensitive)
    country: [FR, BE]                    # in
    employees: {between: [50, 500]}      # an operator mapping
    job_title: {matches: "(?i)\\bceo\\b"}
    any: [{country: FR}, {industry: Software}]
    not: {email_type: free}

Several keys in one mapping must all hold. The parsed form is a tree of frozen
objects (:class:`Predicate`, :class:`AllOf`, :class:`AnyOf`, :class:`Not`) that
every evaluator reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Literal, TypeGuard, Union, cast

from pydantic import BaseModel, ConfigDict, Field

Scalar = Union[str, int, float, bool]  # noqa: UP007 - pydantic union order matters
Operator = Literal[
    "eq",
    "ne",
    "in",
    "not_in",
    "contains",
    "starts_with",
    "ends_with",
    "matches",
    "gt",
    "gte",
    "lt",
    "lte",
    "between",
    "exists",
    "missing",
]
_Path = tuple[str | int, ...]

OPERATORS: dict[str, str] = {
    "eq": "equals the value (text: case-insensitive; number: numerically; true/false)",
    "ne": "does not equal the value (true for a missing value)",
    "in": "equals one of the listed values",
    "not_in": "equals none of the listed values (true for a missing value)",
    "contains": "text contains the value, case-insensitive",
    "starts_with": "text starts with the value, case-insensitive",
    "ends_with": "text ends with the value, case-insensitive",
    "matches": "text matches the regular expression (searched, not anchored)",
    "gt": "number greater than the value",
    "gte": "number greater than or equal to the value",
    "lt": "number less than the value",
    "lte": "number less than or equal to the value",
    "between": "number within [low, high], both ends included",
    "exists": "true: the value is present and not empty; false: it is missing",
    "missing": "true: the value is missing or empty; false: it is present",
}
COMBINATORS = ("all", "any", "not")
TEXT_OPS = ("contains", "starts_with", "ends_with", "matches")
NUMBER_OPS = ("gt", "gte", "lt", "lte")


class ConditionError(ValueError):
    """A condition is malformed; ``path`` says where inside the condition."""

    def __init__(self, message: str, path: tuple[str | int, ...] = (), hint: str | None = None):
        super().__init__(message)
        self.message, self.path, self.hint = message, path, hint


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Predicate(_Frozen):
    """``field <op> value``."""

    kind: Literal["predicate"] = "predicate"
    field: str
    op: Operator
    value: Scalar | tuple[Scalar, ...] | None = None


class AllOf(_Frozen):
    kind: Literal["all"] = "all"
    items: tuple[Condition, ...]


class AnyOf(_Frozen):
    kind: Literal["any"] = "any"
    items: tuple[Condition, ...]


class Not(_Frozen):
    kind: Literal["not"] = "not"
    item: Condition


Condition = Annotated[Union[Predicate, AllOf, AnyOf, Not], Field(discriminator="kind")]  # noqa: UP007
for _cls in (AllOf, AnyOf, Not):
    _cls.model_rebuild()


def _is_scalar(value: object) -> TypeGuard[Scalar]:
    return isinstance(value, (str, int, float, bool))


def _is_operator(op: str) -> TypeGuard[Operator]:
    return op in OPERATORS


def _check_number(value: object, op: str, path: _Path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConditionError(
            f"'{op}' needs a number, got {value!r}", path, "write a number without quotes, e.g. 50"
        )
    return value


def _predicate(field: str, op: str, value: object, path: _Path) -> Predicate:
    if not _is_operator(op):
        raise ConditionError(
            f"unknown operator {op!r}",
            path,
            _did_you_mean(op, OPERATORS) or "operators: " + ", ".join(OPERATORS),
        )
    if op in ("eq", "ne"):
        if not _is_scalar(value):
            raise ConditionError(
                f"'{op}' needs one text, number or true/false value, got {value!r}",
                path,
                "to test several values use 'in'",
            )
        return Predicate(field=field, op=op, value=value)
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise ConditionError(
                f"'{op}' needs a non-empty list, got {value!r}", path, "write e.g. [FR, BE]"
            )
        for i, item in enumerate(value):
            if not _is_scalar(item):
                raise ConditionError(
                    f"list items must be text, numbers or true/false, got {item!r}", (*path, i)
                )
        return Predicate(field=field, op=op, value=tuple(value))
    if op in TEXT_OPS:
        if not isinstance(value, str) or value == "":
            raise ConditionError(f"'{op}' needs a non-empty text, got {value!r}", path)
        if op == "matches":
            try:
                re.compile(value)
            except re.error as exc:
                raise ConditionError(
                    f"bad regular expression {value!r}: {exc}",
                    path,
                    "check brackets and escapes; in YAML double quotes write \\\\ for one \\",
                ) from None
            _check_linear(value, path)
        return Predicate(field=field, op=op, value=value)
    if op in NUMBER_OPS:
        return Predicate(field=field, op=op, value=_check_number(value, op, path))
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise ConditionError(
                f"'between' needs [low, high], got {value!r}", path, "write e.g. [50, 500]"
            )
        low = _check_number(value[0], op, (*path, 0))
        high = _check_number(value[1], op, (*path, 1))
        if low > high:
            raise ConditionError(
                f"'between' has low {low} above high {high}", path, f"write [{high}, {low}]"
            )
        return Predicate(field=field, op=op, value=(low, high))
    if op in ("exists", "missing"):
        if not isinstance(value, bool):
            raise ConditionError(f"'{op}' takes true or false, got {value!r}", path)
        # Normalise to a single operator so evaluators have less to do.
        if op == "exists":
            return Predicate(field=field, op="exists" if value else "missing", value=True)
        return Predicate(field=field, op="missing" if value else "exists", value=True)
    raise AssertionError(f"operator {op!r} has no parser")  # pragma: no cover - all are above


def _check_linear(pattern: str, path: _Path) -> None:
    """Refuse what the evaluators cannot run with Python's meaning in linear time."""
    from ..engine.regex import RegexUnsupported, check

    try:
        check(pattern)
    except RegexUnsupported as exc:
        raise ConditionError(
            f"the regular expression {pattern!r} cannot be used: {exc.construct} (patterns "
            "run in time linear in the text, with one meaning on every engine)",
            path,
            exc.hint,
        ) from None


def _did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def _field_test(field: str, spec: object, path: _Path) -> Condition:
    if not isinstance(field, str) or not field:
        raise ConditionError(f"a field name must be text, got {field!r}", path)
    if isinstance(spec, dict):
        if not spec:
            raise ConditionError(f"the test on {field!r} is empty", path, "write e.g. {eq: FR}")
        preds = [_predicate(field, str(op), value, (*path, op)) for op, value in spec.items()]
        return preds[0] if len(preds) == 1 else AllOf(items=tuple(preds))
    if isinstance(spec, list):
        return _predicate(field, "in", spec, path)
    if spec is None:
        raise ConditionError(
            f"no value given for {field!r}",
            path,
            "to test for an empty value write {missing: true}",
        )
    return _predicate(field, "eq", spec, path)


def parse_condition(raw: object, path: tuple[str | int, ...] = ()) -> Condition:
    """Parse the YAML form of a condition into its typed tree.

    Raises :class:`ConditionError` with the path inside ``raw`` of the first problem.
    """
    if isinstance(raw, Predicate | AllOf | AnyOf | Not):
        return raw
    if not isinstance(raw, dict):
        raise ConditionError(f"a condition is a mapping such as {{country: FR}}, got {raw!r}", path)
    if not raw:
        raise ConditionError("the condition is empty", path, "write e.g. {country: FR}")
    parts: list[Condition] = []
    for key, value in raw.items():
        sub = (*path, key)
        if key in ("all", "any"):
            if not isinstance(value, list) or not value:
                raise ConditionError(f"'{key}' needs a non-empty list of conditions", sub)
            items = tuple(parse_condition(v, (*sub, i)) for i, v in enumerate(value))
            parts.append(AllOf(items=items) if key == "all" else AnyOf(items=items))
        elif key == "not":
            parts.append(Not(item=parse_condition(value, sub)))
        else:
            parts.append(_field_test(key, value, sub))
    return parts[0] if len(parts) == 1 else AllOf(items=tuple(parts))


def condition_fields(cond: Condition) -> set[str]:
    """Every field a condition reads."""
    if isinstance(cond, Predicate):
        return {cond.field}
    if isinstance(cond, Not):
        return condition_fields(cond.item)
    out: set[str] = set()
    for item in cond.items:
        out |= condition_fields(item)
    return out


_SYMBOLS = {"eq": "=", "ne": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤"}


def _show(value: object) -> str:
    if isinstance(value, str):
        return value if value and value.strip() == value and "," not in value else repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)


def describe(cond: Condition) -> str:
    """A short human reading of a condition, for summaries and breakdowns."""
    if isinstance(cond, Predicate):
        if cond.op in ("exists", "missing"):
            return f"{cond.field} {cond.op}"
        if cond.op in _SYMBOLS:
            return f"{cond.field} {_SYMBOLS[cond.op]} {_show(cond.value)}"
        if cond.op == "between":
            bounds = cast(tuple[float, float], cond.value)  # as _predicate builds it
            return f"{cond.field} in {_show(bounds[0])}..{_show(bounds[1])}"
        if isinstance(cond.value, tuple):
            shown = "[" + ", ".join(_show(v) for v in cond.value) + "]"
            return f"{cond.field} {cond.op.replace('_', ' ')} {shown}"
        return f"{cond.field} {cond.op.replace('_', ' ')} {_show(cond.value)}"
    if isinstance(cond, Not):
        return f"not ({describe(cond.item)})"
    joiner = " and " if isinstance(cond, AllOf) else " or "
    text = joiner.join(describe(i) for i in cond.items)
    return f"({text})" if isinstance(cond, AnyOf) else text

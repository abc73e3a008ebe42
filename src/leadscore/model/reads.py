"""What a model reads of the data: contact properties, event types and event attributes,
each with where in the model it is read (for warnings located at their line).

The language alone cannot tell whether a name is a typo; :mod:`leadscore.data.checks`
compares these names with the properties and event types the data actually holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from .conditions import AllOf, AnyOf, Condition, Not, Predicate
from .rules import CompletenessRule, Location, PropertyRule
from .schema import ScoringModel

ACCOUNT_PREFIX = "account."
EVENT_CORE = frozenset({"type", "ts", "id", "event_id", "contact_id"})
"""Fields every event has: never attributes."""


@dataclass(frozen=True)
class Reference:
    """One name the model reads: ``kind`` of name, the rule reading it, where."""

    kind: Literal["property", "event_type", "attribute"]
    name: str
    rule: str
    path: Location


def _predicates(
    cond: Condition, at: Location, negated: bool = False
) -> Iterator[tuple[Predicate, Location, bool]]:
    if isinstance(cond, Predicate):
        yield cond, (*at, cond.field), negated
    elif isinstance(cond, Not):
        yield from _predicates(cond.item, (*at, "not"), not negated)
    elif isinstance(cond, AllOf | AnyOf):
        key = "all" if isinstance(cond, AllOf) else "any"
        for i, item in enumerate(cond.items):
            # a mapping of several keys is an 'all' the YAML does not spell out
            yield from _predicates(item, at if key == "all" else (*at, key, i), negated)


def _properties(cond: Condition, rule: str, at: Location) -> Iterator[Reference]:
    for pred, path, _ in _predicates(cond, at):
        if pred.field != "id" and not pred.field.startswith(ACCOUNT_PREFIX):
            yield Reference("property", pred.field, rule, path)


def _events(cond: Condition, rule: str, at: Location) -> Iterator[Reference]:
    for pred, path, negated in _predicates(cond, at):
        if pred.field == "type":
            if negated or pred.op not in ("eq", "in"):
                continue
            values = pred.value if isinstance(pred.value, tuple) else (pred.value,)
            for value in values:
                if isinstance(value, str):
                    yield Reference("event_type", value, rule, path)
        elif pred.field not in EVENT_CORE:
            yield Reference("attribute", pred.field, rule, path)


def references(model: ScoringModel) -> list[Reference]:
    """Every property, event type and event attribute the model's contact rules and
    exclusions read, in model order (the account section reads accounts: not here)."""
    out: list[Reference] = []
    for gname, group in model.groups.items():
        for i, rule in enumerate(group.rules):
            at: Location = ("groups", gname, "rules", i)
            if isinstance(rule, PropertyRule):
                if rule.when is not None:
                    out.extend(_properties(rule.when, rule.name, (*at, "when")))
                for j, case in enumerate(rule.cases):
                    out.extend(_properties(case.when, rule.name, (*at, "cases", j, "when")))
            elif isinstance(rule, CompletenessRule):
                out.extend(
                    Reference("property", p, rule.name, (*at, "properties", k))
                    for k, p in enumerate(rule.properties)
                    if not p.startswith(ACCOUNT_PREFIX)
                )
            else:
                on = getattr(rule, "on", None)
                if on is not None:
                    out.extend(_events(on, rule.name, (*at, "on")))
    for i, exc in enumerate(model.exclusions):
        if exc.when is not None:
            out.extend(_properties(exc.when, exc.name, ("exclusions", i, "when")))
        if exc.on is not None:
            out.extend(_events(exc.on, exc.name, ("exclusions", i, "on")))
    return out

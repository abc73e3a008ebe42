"""The editor's rule builder: a rule made by picking, written into the model's YAML.

The user picks a property (or an event type and attribute) among the names the
store holds, with their most common values and how many contacts or events have
them, an operator of the model language, a value, points and, for events, a cap,
a window and a decay. :func:`rule_from_form` turns that into the rule's data (the
form's values are taken as hostile text) and :func:`leadscore.model.yamltext.add_rule`
writes it into the chosen group of the text in the editor. The YAML stays the model:
the builder only adds to it, and the editor's checks then read it as typed text.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from ..errors import ModelError
from ..model.conditions import OPERATORS, ConditionError, describe, parse_condition
from ..model.durations import DurationError, parse_duration
from ..model.loader import parse_yaml
from ..model.yamltext import BuildError, add_rule
from ..service import versions, vocabulary
from ..store import tables as T
from . import reference
from .base import Page, current, form

router = APIRouter(include_in_schema=False)
TOP_VALUES = 8
"""How many of a property's (or attribute's) most common values the builder offers."""
LONGEST_VALUE = 80
"""Values longer than this are not offered (they are not what a rule compares with)."""
DECAYS = ("half_life", "linear", "expires")
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?\Z")
OPERATOR_LABELS = {
    "eq": "equals",
    "ne": "does not equal",
    "in": "is one of",
    "not_in": "is none of",
    "contains": "contains",
    "starts_with": "starts with",
    "ends_with": "ends with",
    "matches": "matches (regular expression)",
    "gt": "greater than",
    "gte": "at least",
    "lt": "less than",
    "lte": "at most",
    "between": "between",
    "exists": "is present",
    "missing": "is missing",
}


# --------------------------------------------------------------------------- the store's names


def _values(counter: Counter[str]) -> list[list[Any]]:
    """The most common values, most common first (then A–Z); of many different values
    only those seen more than once (one-off values such as e-mails are no choice)."""
    common = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    few = len(common) <= TOP_VALUES
    return [[v, n] for v, n in common if few or n > 1][:TOP_VALUES]


def _shown(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        text = str(value)
        return text if text.strip() and len(text) <= LONGEST_VALUE else None
    return None


def catalog(
    conn: sa.Connection,
    contacts: int = vocabulary.CONTACT_SAMPLE,
    events: int = vocabulary.EVENT_SAMPLE,
) -> dict[str, Any]:
    """The properties of the first ``contacts`` stored contacts and the types and
    attributes of the latest ``events`` stored events, each with how many hold it and
    its most common values (the sample is the one the editor's name checks read)."""
    have: Counter[str] = Counter()
    values: dict[str, Counter[str]] = {}
    n_contacts = 0
    for props in conn.execute(
        sa.select(T.contacts.c.properties).order_by(T.contacts.c.id).limit(contacts)
    ).scalars():
        n_contacts += 1
        for key, value in (props or {}).items():
            shown = _shown(value)
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            have[key] += 1
            if shown is not None:
                values.setdefault(key, Counter())[shown] += 1
    types: Counter[str] = Counter()
    attrs: dict[str, Counter[str]] = {}
    attr_values: dict[tuple[str, str], Counter[str]] = {}
    n_events = 0
    for etype, attributes in conn.execute(
        sa.select(T.events.c.type, T.events.c.attributes)
        .order_by(T.events.c.seq.desc())
        .limit(events)
    ):
        n_events += 1
        types[etype] += 1
        for key, value in (attributes or {}).items():
            shown = _shown(value)
            if shown is None:
                continue
            attrs.setdefault(etype, Counter())[key] += 1
            attr_values.setdefault((etype, key), Counter())[shown] += 1
    return {
        "contacts": n_contacts,
        "events": n_events,
        "properties": [
            {"name": k, "count": n, "values": _values(values.get(k, Counter()))}
            for k, n in sorted(have.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "event_types": [
            {
                "name": t,
                "count": n,
                "attributes": [
                    {"name": a, "count": m, "values": _values(attr_values[(t, a)])}
                    for a, m in sorted(
                        attrs.get(t, Counter()).items(), key=lambda kv: (-kv[1], kv[0])
                    )
                ],
            }
            for t, n in sorted(types.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
    }


def cached_catalog(page: Page) -> dict[str, Any]:
    """:func:`catalog`, read again at most every ``TTL_SECONDS`` (as the names the
    editor's warnings read), kept with the app."""
    state = page.request.app.state
    now = time.monotonic()
    kept = getattr(state, "builder_catalog", None)
    if kept is not None and now - kept[0] < vocabulary.TTL_SECONDS:
        return kept[1]
    with page.svc.store.read() as conn:
        found = catalog(conn)
    state.builder_catalog = (now, found)
    return found


# --------------------------------------------------------------------------- the form


def typed(text: str) -> str | int | float | bool:
    """A value as the builder writes it: ``true``/``false`` as true/false, a plain
    decimal number as a number, anything else as the text it is."""
    if text in ("true", "false"):
        return text == "true"
    if _NUMBER.match(text):
        number = float(text)
        return int(number) if "." not in text else number
    return text


def _number(text: str, field: str, what: str) -> int | float:
    cleaned = text.strip()
    try:
        number = float(cleaned)
    except ValueError:
        raise BuildError(f"{what} must be a number, e.g. 10; got {text!r}", field) from None
    if not math.isfinite(number):
        raise BuildError(f"{what} must be a finite number; got {text!r}", field)
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _duration(text: str, field: str, what: str) -> str:
    cleaned = text.strip()
    try:
        parse_duration(cleaned)
    except DurationError as exc:
        raise BuildError(f"{what}: {exc}", field) from None
    return cleaned


def _test(op: str, value: str, high: str) -> Any:
    """The test of one field, as the YAML holds it (``eq`` as the bare value)."""
    if op not in OPERATORS:
        raise BuildError(f"unknown operator {op!r}; pick one of the list", "op")
    if op in ("exists", "missing"):
        return {op: True}
    if op == "between":
        return {op: [_number(value, "value", "the low end"), _number(high, "high", "the high end")]}
    if op in ("gt", "gte", "lt", "lte"):
        return {op: _number(value, "value", f"the value for {OPERATOR_LABELS[op]!r}")}
    if op in ("in", "not_in"):
        items = [typed(line.rstrip("\r")) for line in value.split("\n") if line.strip()]
        if not items:
            raise BuildError(f"{OPERATOR_LABELS[op]!r} needs values, one per line", "value")
        return {op: items}
    if value == "":
        raise BuildError(
            "type the value to compare with (or pick one of the common values)", "value"
        )
    if op in ("eq", "ne"):
        return typed(value) if op == "eq" else {op: typed(value)}
    return {op: value}  # text operators compare with the text as typed


def _condition(field_name: str, data: dict[str, str], what: str) -> dict[str, Any]:
    if not field_name.strip():
        raise BuildError(f"pick the {what} the rule reads", what)
    if field_name in ("all", "any", "not"):
        raise BuildError(f"{field_name!r} is a word of the condition language, not a {what}", what)
    return {field_name: _test(data.get("op", "eq"), data.get("value", ""), data.get("high", ""))}


def _check_condition(cond: dict[str, Any]) -> str:
    try:
        return describe(parse_condition(cond))
    except ConditionError as exc:
        hint = f" ({exc.hint})" if exc.hint else ""
        raise BuildError(exc.message + hint, "value") from None


def rule_names(data: Any) -> set[str]:
    """The rule names a model's data uses (in every group)."""
    out: set[str] = set()
    groups = data.get("groups") if isinstance(data, dict) else None
    for body in (groups or {}).values() if isinstance(groups, dict) else ():
        rules = body.get("rules") if isinstance(body, dict) else None
        for rule in rules if isinstance(rules, list) else ():
            if isinstance(rule, dict) and isinstance(rule.get("name"), str):
                out.add(rule["name"])
    return out


def rule_from_form(data: dict[str, str], taken: Collection[str] = ()) -> tuple[str, dict[str, Any]]:
    """The group and the rule's data the builder's form describes; ``taken``: the rule
    names the model already uses. Raises :class:`BuildError` naming the field."""
    kind = data.get("kind", "property")
    rule: dict[str, Any] = {"name": ""}
    if kind == "event":
        etype = data.get("event_type", "")
        if not etype.strip():
            raise BuildError("pick the event type the rule counts", "event_type")
        on: dict[str, Any] = {"type": etype}
        attribute = data.get("attribute", "")
        shown = f"{etype} events"
        if attribute.strip():
            if attribute == "type":
                raise BuildError("'type' is the event type: pick another attribute", "attribute")
            test = _condition(attribute, data, "attribute")
            shown = f"{etype}: {_check_condition(test)}"
            on.update(test)
        _check_condition(on)
        rule["on"] = on
    elif kind == "property":
        when = _condition(data.get("property", ""), data, "property")
        shown = _check_condition(when)
        rule["when"] = when
    else:
        raise BuildError(f"a rule built here is on a property or an event, not {kind!r}", "kind")
    points = _number(data.get("points", ""), "points", "points")
    if points == 0:
        raise BuildError("0 points would never change a score: give e.g. 10, or -10", "points")
    rule["points"] = points
    if kind == "event":
        if data.get("max_points", "").strip():
            cap = _number(data["max_points"], "max_points", "the cap")
            if cap <= 0:
                raise BuildError("the cap is above 0 (it bounds negative sums too)", "max_points")
            rule["max_points"] = cap
        if data.get("within", "").strip():
            rule["within"] = _duration(data["within"], "within", "the window")
        decay = data.get("decay", "")
        if decay == "none":
            rule["decay"] = "none"
        elif decay in DECAYS:
            rule["decay"] = {decay: _duration(data.get("decay_for", ""), "decay_for", "the decay")}
        elif decay:
            raise BuildError(f"unknown decay {decay!r}; pick one of the list", "decay")
    name = data.get("name", "").strip()
    if name and name in taken:
        raise BuildError(
            f"a rule named {name!r} exists already: give this one its own name", "name"
        )
    if not name:
        base = shown
        name, n = base, 2
        while name in taken:
            name, n = f"{base} ({n})", n + 1
    rule["name"] = name
    group = data.get("group", "").strip() or "fit"
    return group, rule


# --------------------------------------------------------------------------- the route


def build(text: str, data: dict[str, str]) -> tuple[str, dict[str, Any], Any]:
    """The text with the rule the form describes added: (group, rule, Added)."""
    try:
        model, _ = parse_yaml(text)
    except ModelError as exc:
        first = exc.problems[0]
        where = f" (line {first.line})" if first.line else ""
        raise BuildError(
            f"the model's text does not read as YAML{where}: fix the problem shown beside the "
            "editor first; the builder adds to a model it can read"
        ) from None
    group, rule = rule_from_form(data, rule_names(model))
    return group, rule, add_rule(text, group, rule)


@router.post("/models/builder/rule", response_class=HTMLResponse)
async def add(page: Page = Depends(current)) -> Response:
    """Add the built rule to the editor's text (nothing is stored: the text comes back
    with the rule in it, checked as the editor checks what is typed)."""
    data = await form(page)
    text = data.get("yaml", "").replace("\r\n", "\n")  # as the editor reads it
    try:
        group, rule, added = await run_in_threadpool(build, text, data)
    except BuildError as exc:
        return page.render("_builder_result.html", 422, error=exc, added=None)
    check = await run_in_threadpool(
        versions.validate, added.text, page.svc.settings, page.svc.vocabulary.get()
    )
    reference.with_sections(check)
    return page.render(
        "_builder_result.html", error=None, added=added, group=group, rule=rule, check=check
    )

"""Rules and the groups they make: the parts every score of the language is built from.

Each rule kind is a frozen object told apart by a ``kind`` discriminator, written
explicitly or inferred from the keys a rule uses (:func:`rule_kind`). A model's
contact groups and its account section's groups are made of these rules; the
field parsers here (:func:`as_condition`, :func:`as_duration`) read conditions and
durations for every part of the language.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, Literal, Protocol, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .conditions import Condition, ConditionError, parse_condition
from .durations import DurationError, parse_duration

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
"""A group's name: it becomes a column and a score field."""

Location = tuple[str | int, ...]
"""Where in a model's data a problem is: keys and list indexes."""
Problems = list[tuple[Location, str, str | None]]
"""Cross-reference problems found after parsing: (location, message, hint)."""


class Frozen(BaseModel):
    """The base of every part of the language: immutable, no unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def as_condition(value: Any) -> Condition:
    """A field parser (``mode="before"``): the condition written in YAML, parsed; its
    problems become validation errors located inside the condition."""
    try:
        return parse_condition(value)
    except ConditionError as exc:
        raise PydanticCustomError(
            "condition",
            "{message}",
            {"message": exc.message, "subpath": list(exc.path), "hint": exc.hint},
        ) from None


def as_duration(value: Any) -> int:
    """A field parser (``mode="before"``): seconds, from a duration such as ``30d``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value  # already seconds (built in Python)
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise PydanticCustomError("duration", "{message}", {"message": str(exc)}) from None


def optional_condition(value: Any) -> Condition | None:
    """:func:`as_condition`, for a field that may be left out."""
    return None if value is None else as_condition(value)


def optional_duration(value: Any) -> int | None:
    """:func:`as_duration`, for a field that may be left out."""
    return None if value is None else as_duration(value)


def suggest(word: str, choices: Iterable[object]) -> str | None:
    """ "did you mean ...?" with the closest of ``choices``, if one is close."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], 1)
    return f"did you mean {close[0]!r}?" if close else None


# --------------------------------------------------------------------------- decay


class Step(Frozen):
    until: int = Field(description="age up to which (inclusive) the factor applies")
    factor: float = Field(ge=0, le=1)

    _d = field_validator("until", mode="before")(as_duration)


class Decay(Frozen):
    """How an event's points fade with its age. Exactly one kind is set, or none."""

    kind: Literal["none", "half_life", "linear", "expires", "steps"]
    seconds: int | None = None  # half-life, lifespan or expiry
    steps: tuple[Step, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _read(cls, value: Any) -> Any:
        if value is None or value == "none" or value is False:
            return {"kind": "none"}
        if isinstance(value, Decay):
            return value
        if isinstance(value, dict) and "kind" in value:
            return value
        if not isinstance(value, dict) or len(value) != 1:
            raise PydanticCustomError(
                "decay",
                "decay is 'none' or one of {{half_life: 30d}}, {{linear: 90d}}, "
                "{{expires: 90d}}, {{steps: [{{until: 30d, factor: 1}}, ...]}}; got {value}",
                {"value": repr(value)},
            )
        ((key, arg),) = value.items()
        if key in ("half_life", "linear", "expires"):
            return {"kind": key, "seconds": as_duration(arg)}
        if key == "steps":
            if not isinstance(arg, list) or not arg:
                raise PydanticCustomError("decay", "steps needs a non-empty list", {})
            return {"kind": "steps", "steps": arg}
        close = difflib.get_close_matches(str(key), ["half_life", "linear", "expires", "steps"], 1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise PydanticCustomError(
            "decay",
            "unknown decay {key}: use half_life, linear, expires or steps{hint}",
            {"key": repr(key), "hint": hint},
        )

    @model_validator(mode="after")
    def _check_steps(self) -> Decay:
        last, factor = 0, 1.0
        for step in self.steps:
            if step.until <= last:
                raise PydanticCustomError(
                    "decay", "step ages must increase: each 'until' longer than the one before", {}
                )
            if step.factor > factor:
                raise PydanticCustomError(
                    "decay",
                    "step factors must not grow with age ({after} after {before}): decay only "
                    "fades points",
                    {"after": step.factor, "before": factor},
                )
            last, factor = step.until, step.factor
        return self


NO_DECAY = Decay(kind="none")


# --------------------------------------------------------------------------- rules


class Limit(Frozen):
    """Repetition limit: at most ``count`` scoring events per ``per`` (latest kept)."""

    count: int = Field(ge=1)
    per: str = Field(
        default="ever",
        description="'ever', 'day' (UTC calendar day) or an event attribute, e.g. session_id",
    )

    @model_validator(mode="before")
    @classmethod
    def _read(cls, value: Any) -> Any:
        if value == "once":
            return {"count": 1, "per": "ever"}
        return value


class RuleBase(Frozen):
    """What every rule has: a name (unique in its model), a description, a weight."""

    name: str = Field(min_length=1)
    description: str | None = None
    weight: float = Field(default=1.0, gt=0, description="weight in a weighted_mean group")


class Case(Frozen):
    when: Condition
    points: float

    _c = field_validator("when", mode="before")(as_condition)


class PropertyRule(RuleBase):
    """A condition on the contact's properties gives points (or one of several cases)."""

    kind: Literal["property"] = "property"
    when: Condition | None = None
    points: float | None = None
    cases: tuple[Case, ...] = ()
    otherwise: float = Field(default=0.0, alias="else")

    _c = field_validator("when", mode="before")(as_condition)

    @model_validator(mode="after")
    def _shape(self) -> PropertyRule:
        if self.cases and (self.when is not None or self.points is not None):
            raise PydanticCustomError(
                "rule_shape", "a property rule has either when + points, or cases, not both", {}
            )
        if not self.cases:
            if self.when is None:
                raise PydanticCustomError(
                    "rule_shape", "a property rule needs 'when' (a condition) or 'cases'", {}
                )
            if self.points is None:
                raise PydanticCustomError("rule_shape", "the rule needs 'points'", {})
        return self


class EventRule(RuleBase):
    """Points for each matching event, with cap, window, repetition limit and decay."""

    kind: Literal["event"] = "event"
    on: Condition
    points: float
    max_points: float | None = Field(default=None, description="cap on |sum of points|")
    within: int | None = None
    limit: Limit | None = None
    decay: Decay | None = None  # None: inherit the group's

    _c = field_validator("on", mode="before")(as_condition)
    _d = field_validator("within", mode="before")(as_duration)

    @field_validator("max_points")
    @classmethod
    def _cap(cls, value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise PydanticCustomError(
                "cap",
                "max_points must be above zero, got {value}; it caps the size of the sum "
                "for negative points too",
                {"value": value},
            )
        return value


class FrequencyRule(RuleBase):
    """Points once when at least N matching events happened within the window."""

    kind: Literal["frequency"] = "frequency"
    on: Condition
    at_least: int = Field(ge=1)
    within: int | None = None
    points: float

    _c = field_validator("on", mode="before")(as_condition)
    _d = field_validator("within", mode="before")(as_duration)


class InactivityRule(RuleBase):
    """Points (usually negative) when no matching event happened for a period."""

    kind: Literal["inactivity"] = "inactivity"
    inactive_for: int
    on: Condition | None = None
    points: float
    or_never: bool = Field(
        default=False, description="also fire for contacts with no matching event at all"
    )

    _c = field_validator("on", mode="before")(optional_condition)
    _d = field_validator("inactive_for", mode="before")(as_duration)


class CompletenessRule(RuleBase):
    """Points for each listed property that is filled."""

    kind: Literal["completeness"] = "completeness"
    properties: tuple[str, ...] = Field(min_length=1)
    points: float

    @field_validator("properties")
    @classmethod
    def _unique(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise PydanticCustomError("duplicate", "a property is listed twice", {})
        return value


def rule_kind(value: Any) -> str | None:
    """Tell a rule's kind from its explicit ``kind`` or from the keys it uses."""
    if isinstance(value, BaseModel):
        return getattr(value, "kind", None)
    if not isinstance(value, dict):
        return None
    if "kind" in value:
        return value["kind"] if value["kind"] in RULE_KINDS else None
    if "inactive_for" in value:
        return "inactivity"
    if "at_least" in value:
        return "frequency"
    if "on" in value:
        return "event"
    if "properties" in value:
        return "completeness"
    if "when" in value or "cases" in value:
        return "property"
    return None


Rule = Annotated[
    Union[  # noqa: UP007
        Annotated[PropertyRule, Tag("property")],
        Annotated[EventRule, Tag("event")],
        Annotated[FrequencyRule, Tag("frequency")],
        Annotated[InactivityRule, Tag("inactivity")],
        Annotated[CompletenessRule, Tag("completeness")],
    ],
    Discriminator(
        rule_kind,
        custom_error_type="rule_kind",
        custom_error_message=(
            "cannot tell what kind of rule this is: give 'when' (property), 'on' (event), "
            "'on' + 'at_least' (frequency), 'inactive_for' (inactivity) or 'properties' "
            "(completeness)"
        ),
    ),
]
RULE_KINDS = ("property", "event", "frequency", "inactivity", "completeness")
EVENT_KINDS = (EventRule, FrequencyRule, InactivityRule)


# --------------------------------------------------------------------------- groups


class Group(Frozen):
    """A named score made of rules: summed (default) or a weighted mean of criteria."""

    combine: Literal["sum", "weighted_mean"] = "sum"
    min: float | None = None
    max: float | None = None
    decay: Decay = NO_DECAY
    reset_on_stage: bool = Field(
        default=False, description="count events only since the contact entered its stage"
    )
    description: str | None = None
    rules: tuple[Rule, ...] = ()


class Named(Protocol):
    """Anything with a name (an exclusion, of a model or of its account section)."""

    @property
    def name(self) -> str: ...


class RuleGroup(Protocol):
    """A group of rules, of a model (:class:`Group`) or of its account section."""

    @property
    def combine(self) -> Literal["sum", "weighted_mean"]: ...

    @property
    def rules(self) -> Sequence[RuleBase]: ...


def check_groups(
    problems: Problems,
    groups: Mapping[str, RuleGroup],
    exclusions: Sequence[Named],
    weights: Mapping[str, float] | None,
    at: Location,
    reserved: set[str],
) -> None:
    """Group names, unique rule names, weights only in weighted means, known total
    ``weights``."""
    for name in groups:
        if not NAME_RE.match(name) or name in reserved:
            problems.append(
                (
                    (*at, "groups", name),
                    f"bad group name {name!r}",
                    "use letters, digits and _, not " + "/".join(sorted(reserved)),
                ),
            )
    seen: dict[str, Location] = {}
    for gname, group in groups.items():
        for i, rule in enumerate(group.rules):
            where = (*at, "groups", gname, "rules", i, "name")
            if rule.name in seen:
                problems.append(
                    (
                        where,
                        f"duplicate rule name {rule.name!r}",
                        "each rule needs its own name: breakdowns and history refer to it",
                    ),
                )
            seen.setdefault(rule.name, where)
            if isinstance(rule, EventRule) and rule.limit and rule.limit.per == "":
                problems.append(((*where[:-1], "limit"), "limit 'per' is empty", None))
        if group.combine == "sum":
            for i, rule in enumerate(group.rules):
                if "weight" in rule.model_fields_set:
                    problems.append(
                        (
                            (*at, "groups", gname, "rules", i, "weight"),
                            "'weight' only counts in a weighted_mean group",
                            "add 'combine: weighted_mean' to the group or remove the weight",
                        ),
                    )
    for i, exc in enumerate(exclusions):
        if exc.name in seen:
            problems.append(
                ((*at, "exclusions", i, "name"), f"duplicate rule name {exc.name!r}", None)
            )
        seen.setdefault(exc.name, (*at, "exclusions", i))
    if weights is not None:
        for gname in weights:
            if gname not in groups:
                problems.append(
                    (
                        (*at, "total", "weights", gname),
                        f"unknown group {gname!r}",
                        suggest(gname, groups),
                    ),
                )

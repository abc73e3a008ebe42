"""The typed tree of a scoring model.

Parsed once from YAML (see :mod:`leadscore.model.loader`); every evaluator reads
these frozen objects. Rule kinds are told apart by a ``kind`` discriminator,
written explicitly or inferred from the keys a rule uses.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .conditions import Condition, ConditionError, parse_condition
from .durations import DurationError, parse_duration

if TYPE_CHECKING:
    from .accounts import AccountScoring

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED_GROUPS = {"total", "grade", "stage", "excluded"}
MODEL_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
"""A model's name: it is one segment of the service's URLs (``/v1/models/{name}``)."""
MODEL_DIR_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*(?:/[A-Za-z0-9_][A-Za-z0-9._-]*)*")
"""``predicted.model_dir``: a relative path inside the service's models folder, with no
``..``, no hidden or absolute part."""
STORED = "stored"
"""Validation context key: the text is a version the service stored before the
name rules existed; its name and model_dir are not checked again (the service
checks model_dir itself before loading anything)."""


def _stored(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get(STORED))


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def _condition(value: Any) -> Condition:
    try:
        return parse_condition(value)
    except ConditionError as exc:
        raise PydanticCustomError(
            "condition",
            "{message}",
            {"message": exc.message, "subpath": list(exc.path), "hint": exc.hint},
        ) from None


def _duration(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value  # already seconds (built in Python)
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise PydanticCustomError("duration", "{message}", {"message": str(exc)}) from None


# --------------------------------------------------------------------------- decay


class Step(Frozen):
    until: int = Field(description="age up to which (inclusive) the factor applies")
    factor: float = Field(ge=0, le=1)

    _d = field_validator("until", mode="before")(_duration)


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
            return {"kind": key, "seconds": _duration(arg)}
        if key == "steps":
            if not isinstance(arg, list) or not arg:
                raise PydanticCustomError("decay", "steps needs a non-empty list", {})
            return {"kind": "steps", "steps": arg}
        import difflib

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


class _Rule(Frozen):
    name: str = Field(min_length=1)
    description: str | None = None
    weight: float = Field(default=1.0, gt=0, description="weight in a weighted_mean group")


class Case(Frozen):
    when: Condition
    points: float

    _c = field_validator("when", mode="before")(_condition)


class PropertyRule(_Rule):
    """A condition on the contact's properties gives points (or one of several cases)."""

    kind: Literal["property"] = "property"
    when: Condition | None = None
    points: float | None = None
    cases: tuple[Case, ...] = ()
    otherwise: float = Field(default=0.0, alias="else")

    _c = field_validator("when", mode="before")(_condition)

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


class EventRule(_Rule):
    """Points for each matching event, with cap, window, repetition limit and decay."""

    kind: Literal["event"] = "event"
    on: Condition
    points: float
    max_points: float | None = Field(default=None, description="cap on |sum of points|")
    within: int | None = None
    limit: Limit | None = None
    decay: Decay | None = None  # None: inherit the group's

    _c = field_validator("on", mode="before")(_condition)
    _d = field_validator("within", mode="before")(_duration)

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


class FrequencyRule(_Rule):
    """Points once when at least N matching events happened within the window."""

    kind: Literal["frequency"] = "frequency"
    on: Condition
    at_least: int = Field(ge=1)
    within: int | None = None
    points: float

    _c = field_validator("on", mode="before")(_condition)
    _d = field_validator("within", mode="before")(_duration)


class InactivityRule(_Rule):
    """Points (usually negative) when no matching event happened for a period."""

    kind: Literal["inactivity"] = "inactivity"
    inactive_for: int
    on: Condition | None = None
    points: float
    or_never: bool = Field(
        default=False, description="also fire for contacts with no matching event at all"
    )

    _c = field_validator("on", mode="before")(lambda v: None if v is None else _condition(v))
    _d = field_validator("inactive_for", mode="before")(_duration)


class CompletenessRule(_Rule):
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


# --------------------------------------------------------------------------- groups & model


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

    @model_validator(mode="after")
    def _bounds(self) -> Group:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise PydanticCustomError(
                "bounds", "group min {lo} is above its max {hi}", {"lo": self.min, "hi": self.max}
            )
        return self


class Scale(Frozen):
    min: float = 0
    max: float = 100

    @model_validator(mode="after")
    def _bounds(self) -> Scale:
        if self.min >= self.max:
            raise PydanticCustomError(
                "bounds", "scale min {lo} must be below max {hi}", {"lo": self.min, "hi": self.max}
            )
        return self


class Total(Frozen):
    """How groups combine into the total: plain sum, or a weighted sum."""

    weights: dict[str, float] | None = None


class Exclusion(Frozen):
    """Disqualifies a contact: the total is forced to the scale's floor and no stage is given."""

    name: str = Field(min_length=1)
    when: Condition | None = None
    on: Condition | None = None
    within: int | None = None
    description: str | None = None

    _c = field_validator("when", "on", mode="before")(
        lambda v: None if v is None else _condition(v)
    )
    _d = field_validator("within", mode="before")(lambda v: None if v is None else _duration(v))

    @model_validator(mode="after")
    def _shape(self) -> Exclusion:
        if (self.when is None) == (self.on is None):
            raise PydanticCustomError(
                "rule_shape",
                "an exclusion needs exactly one of 'when' (a property condition) or 'on' "
                "(an event filter)",
                {},
            )
        if self.within is not None and self.on is None:
            raise PydanticCustomError("rule_shape", "'within' only goes with 'on'", {})
        return self


class Grades(Frozen):
    """Letter grades from one group's score: the first letter whose minimum is reached."""

    group: str
    letters: tuple[tuple[str, float], ...]  # highest minimum first
    otherwise: str = "D"


def read_grades(value: Any) -> Any:
    """``{fit: {A: 45, B: 30, else: D}}`` → the fields of :class:`Grades`."""
    if value is None or isinstance(value, Grades):
        return value
    if not isinstance(value, dict) or len(value) != 1:
        raise PydanticCustomError(
            "grades",
            "grades maps one group to letter minimums, e.g. {fit: {A: 45, B: 30, C: 15}}",
            {},
        )
    ((group, letters),) = value.items()
    if not isinstance(letters, dict) or not letters:
        raise PydanticCustomError(
            "grades",
            "give letter minimums for {group}, e.g. {{A: 45, B: 30, C: 15}}",
            {"group": repr(group)},
        )
    letters = dict(letters)
    otherwise = letters.pop("else", "D")
    pairs = []
    for letter, minimum in letters.items():
        if isinstance(minimum, bool) or not isinstance(minimum, int | float):
            raise PydanticCustomError(
                "grades",
                "grade {letter} needs a number (the minimum score), got {value}",
                {"letter": repr(letter), "value": repr(minimum)},
            )
        pairs.append((str(letter), float(minimum)))
    pairs.sort(key=lambda p: -p[1])
    return {"group": group, "letters": pairs, "otherwise": str(otherwise)}


class Threshold(Frozen):
    stage: str = Field(min_length=1)
    when: Condition

    _c = field_validator("when", mode="before")(_condition)


class Crossing(Frozen):
    """A score crossing a value, stage or not: ``{score: total, above: 70}``."""

    score: str = Field(default="total", min_length=1, description="total or a group name")
    above: float | None = Field(default=None, description="fires on reaching this value or more")
    below: float | None = Field(default=None, description="fires on falling under this value")

    @model_validator(mode="after")
    def _one(self) -> Crossing:
        if (self.above is None) == (self.below is None):
            raise PydanticCustomError(
                "trigger",
                "a crossing names exactly one of 'above: N' or 'below: N', "
                "e.g. {{score: total, above: 70}}",
                {},
            )
        return self

    @property
    def value(self) -> float:
        return self.above if self.above is not None else self.below  # type: ignore[return-value]


TRIGGER_KINDS = ("enters", "leaves", "crosses", "holds")


class TriggerOn(Frozen):
    """When a trigger fires: exactly one of ``enters``, ``leaves``, ``crosses``, ``holds``."""

    enters: str | None = None
    leaves: str | None = None
    crosses: Crossing | None = None
    holds: Condition | None = Field(
        default=None, description="a condition on the scores that must hold for 'for'"
    )
    for_: int | None = Field(default=None, alias="for", description="how long 'holds' must hold")
    unless_stage: str | None = Field(
        default=None, description="'holds' only: reaching this stage stops the clock"
    )

    _c = field_validator("holds", mode="before")(lambda v: None if v is None else _condition(v))
    _d = field_validator("for_", mode="before")(lambda v: None if v is None else _duration(v))

    @model_validator(mode="after")
    def _one(self) -> TriggerOn:
        given = [k for k in TRIGGER_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise PydanticCustomError(
                "trigger",
                "a trigger fires 'on' exactly one of {{enters: STAGE}}, {{leaves: STAGE}}, "
                "{{crosses: {{score: total, above: 70}}}} or "
                "{{holds: {{total: {{gte: 40}}}}, for: 14d}}{got}",
                {"got": f"; got {', '.join(given)}" if given else ""},
            )
        if self.holds is not None and not self.for_:
            raise PydanticCustomError(
                "trigger",
                "'holds' needs 'for: PERIOD' (how long the condition must hold), e.g. for: 14d",
                {},
            )
        if self.holds is None and (self.for_ is not None or self.unless_stage is not None):
            raise PydanticCustomError(
                "trigger", "'for' and 'unless_stage' only go with 'holds'", {}
            )
        return self

    @property
    def kind(self) -> str:
        return next(k for k in TRIGGER_KINDS if getattr(self, k) is not None)

    def describe(self) -> dict[str, Any]:
        """The 'on' clause as plain JSON (for payloads and the API)."""
        if self.enters is not None:
            return {"enters": self.enters}
        if self.leaves is not None:
            return {"leaves": self.leaves}
        if self.crosses is not None:
            return {"crosses": self.crosses.model_dump(exclude_none=True)}
        assert self.holds is not None
        out: dict[str, Any] = {"holds": self.holds.model_dump(), "for": self.for_}
        if self.unless_stage is not None:
            out["unless_stage"] = self.unless_stage
        return out


class WebhookAction(Frozen):
    kind: Literal["webhook"] = "webhook"
    url: str = Field(description="http(s) URL; scheme and host are normalised to lower case")
    secret_env: str | None = Field(
        default=None, description="environment variable holding the signing secret"
    )

    @field_validator("url")
    @classmethod
    def _url_form(cls, value: str) -> str:
        from ..actions.outbound import UrlRefused, normalise_url

        try:
            return normalise_url(value)
        except UrlRefused as exc:
            raise PydanticCustomError(
                "url", "{message}", {"message": exc.message, "hint": exc.hint}
            ) from None


class EmailAction(Frozen):
    kind: Literal["email"] = "email"
    to: tuple[str, ...] = Field(min_length=1)
    subject: str | None = None


class CrmAction(Frozen):
    kind: Literal["crm"] = "crm"
    system: Literal["hubspot", "pipedrive"]


def _action_kind(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return getattr(value, "kind", None)
    if isinstance(value, dict) and "kind" in value:
        return value["kind"] if value["kind"] in ("webhook", "email", "crm") else None
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        return key if key in ("webhook", "email", "crm") else None
    return None


Action = Annotated[
    Union[  # noqa: UP007
        Annotated[WebhookAction, Tag("webhook")],
        Annotated[EmailAction, Tag("email")],
        Annotated[CrmAction, Tag("crm")],
    ],
    Discriminator(
        _action_kind,
        custom_error_type="action_kind",
        custom_error_message="an action is one of {webhook: {url: ...}}, {email: {to: [...]}}, "
        "{crm: {system: hubspot}}",
    ),
]


class Trigger(Frozen):
    name: str = Field(min_length=1)
    on: TriggerOn
    hysteresis: float | None = Field(
        default=None,
        ge=0,
        description="points the score must move back past the threshold before firing again",
    )
    actions: tuple[Action, ...] = Field(min_length=1)

    @field_validator("actions", mode="before")
    @classmethod
    def _unwrap(cls, value: Any) -> Any:
        if isinstance(value, list):
            out = []
            for item in value:
                if isinstance(item, dict) and len(item) == 1:
                    ((key, body),) = item.items()
                    if key in ("webhook", "email", "crm") and isinstance(body, dict):
                        item = {"kind": key, **body}
                out.append(item)
            return out
        return value


class Predicted(Frozen):
    """A trained predictive model (``leadscore train``) used as the score ``predicted``.

    The service gives every contact the model's 0–100 score as a group named
    ``predicted`` that thresholds, grades and triggers may read.
    """

    model_dir: str = Field(
        min_length=1,
        description="the folder `leadscore train --out` wrote, relative to the service's "
        "models folder",
    )
    weight: float = Field(
        default=0.0, ge=0, description="share of the predicted score added to the total"
    )
    reasons: int = Field(default=3, ge=0, le=10, description="top reasons kept in the breakdown")

    @field_validator("model_dir")
    @classmethod
    def _relative(cls, value: str, info: ValidationInfo) -> str:
        if _stored(info) or (len(value) <= 255 and MODEL_DIR_RE.fullmatch(value)):
            return value
        raise PydanticCustomError(
            "hinted",
            "{message}",
            {
                "message": f"model_dir {value[:100]!r} is not a folder name inside the "
                "service's models folder: it is a relative path of letters, digits, '.', "
                "'_' and '-', parts separated by '/', none starting with '.', never "
                "absolute or with '..'",
                "hint": "put the folder `leadscore train --out` wrote inside the service's "
                "models folder (setting models_root) and give its path from there, e.g. "
                "model_dir: current",
            },
        )


PREDICTED = "predicted"


class Lifecycle(Frozen):
    """Where a contact's current stage comes from, for groups that reset on stage change."""

    stage_property: str = "lifecycle_stage"
    entered_at_property: str = "lifecycle_stage_entered_at"


class ScoringModel(Frozen):
    """A whole scoring model. Build it with :func:`leadscore.load_model`."""

    name: str = Field(min_length=1)
    description: str | None = None
    scale: Scale = Scale()
    groups: dict[str, Group] = Field(min_length=1)
    total: Total = Total()
    exclusions: tuple[Exclusion, ...] = ()
    grades: Grades | None = None
    thresholds: tuple[Threshold, ...] = ()
    default_stage: str | None = None
    lifecycle: Lifecycle = Lifecycle()
    triggers: tuple[Trigger, ...] = ()
    predicted: Predicted | None = None

    account: AccountScoring | None = Field(
        default=None, description="scores for accounts (companies) from their contacts"
    )

    _g = field_validator("grades", mode="before")(lambda v: read_grades(v))

    @field_validator("name")
    @classmethod
    def _url_segment(cls, value: str, info: ValidationInfo) -> str:
        if _stored(info) or MODEL_NAME_RE.fullmatch(value):
            return value
        raise PydanticCustomError(
            "hinted",
            "{message}",
            {
                "message": f"model name {value[:100]!r} is not allowed: a name is 1 to 200 "
                "letters (A-Z, a-z), digits, '.', '_' and '-', starting with a letter or "
                "digit (it is part of the service's URLs)",
                "hint": "e.g. name: b2b-saas",
            },
        )

    @model_validator(mode="after")
    def _crosscheck(self) -> ScoringModel:
        # Cross-references are reported with a path so the loader can locate them.
        problems: list[tuple[tuple, str, str | None]] = []
        check_groups(problems, self.groups, self.exclusions, self.total, (), RESERVED_GROUPS)
        # a declared predictive model is one more score: the group ``predicted``
        scored = {*self.groups, *([PREDICTED] if self.predicted is not None else [])}
        if self.predicted is not None and PREDICTED in self.groups:
            problems.append(
                (
                    ("groups", PREDICTED),
                    f"group name {PREDICTED!r} is taken by the predictive model",
                    "rename the group: 'predicted' holds the trained model's score",
                )
            )
        if self.grades is not None and self.grades.group not in scored:
            problems.append(
                (
                    ("grades", self.grades.group),
                    f"grades use unknown group {self.grades.group!r}",
                    _suggest(self.grades.group, scored),
                ),
            )
        score_fields = {"total", "grade", *scored}
        stages = check_thresholds(problems, self.thresholds, score_fields, ())
        known_stages = stages | ({self.default_stage} if self.default_stage else set())
        check_triggers(problems, self.triggers, known_stages, score_fields, ())
        from .accounts import check_account_use

        check_account_use(self, problems)
        if problems:
            raise PydanticCustomError(
                "crosscheck",
                "{count} cross-reference problems",
                {"count": len(problems), "problems": problems},
            )
        return self

    # Convenience used by the engines and the CLI
    def rules(self):
        """Every (group name, rule) pair in model order."""
        for gname, group in self.groups.items():
            for rule in group.rules:
                yield gname, rule

    def reads_predicted(self) -> bool:
        """Whether the total, a grade or a threshold depends on the ``predicted`` score,
        which only the service computes (from the trained model)."""
        if self.predicted is None:
            return False
        from .conditions import condition_fields

        return (
            self.predicted.weight > 0
            or (self.grades is not None and self.grades.group == PREDICTED)
            or any(PREDICTED in condition_fields(t.when) for t in self.thresholds)
            or (self.account is not None and self.account.reads_contact_score(PREDICTED))
        )

    @cached_property
    def account_use(self):
        """What the contact rules read of their account (:class:`~.accounts.AccountUse`)."""
        from .accounts import account_use

        return account_use(self)

    def effective_decay(self, group: str, rule: EventRule) -> Decay:
        return rule.decay if rule.decay is not None else self.groups[group].decay


def _suggest(word: str, choices) -> str | None:
    import difflib

    close = difflib.get_close_matches(str(word), [str(c) for c in choices], 1)
    return f"did you mean {close[0]!r}?" if close else None


Problems = list[tuple[tuple, str, str | None]]


def check_thresholds(problems: Problems, thresholds, score_fields: set[str], at: tuple) -> set[str]:
    """Thresholds read known scores and name each stage once; returns the stages."""
    from .conditions import condition_fields

    stages: set[str] = set()
    for i, th in enumerate(thresholds):
        for field in sorted(condition_fields(th.when) - score_fields):
            problems.append(
                (
                    (*at, "thresholds", i, "when", field),
                    f"threshold reads unknown score {field!r}",
                    _suggest(field, score_fields)
                    or "use total, grade or a group name: " + ", ".join(sorted(score_fields)),
                ),
            )
        if th.stage in stages:
            problems.append(((*at, "thresholds", i, "stage"), f"stage {th.stage!r} twice", None))
        stages.add(th.stage)
    return stages


def check_triggers(
    problems: Problems,
    triggers,
    known_stages: set[str],
    score_fields: set[str],
    at: tuple,
    taken: set[str] | None = None,
) -> None:
    """Trigger names are unique (also against ``taken``) and read known stages and scores."""
    from .conditions import condition_fields

    trigger_names: set[str] = set()
    for i, trig in enumerate(triggers):
        if trig.name in trigger_names or (taken and trig.name in taken):
            problems.append(
                (
                    (*at, "triggers", i, "name"),
                    f"duplicate trigger name {trig.name!r}",
                    "each trigger needs its own name: deliveries are keyed by it",
                )
            )
        trigger_names.add(trig.name)
        on = trig.on
        stage_refs = [(k, getattr(on, k)) for k in ("enters", "leaves", "unless_stage")]
        for key, stage in stage_refs:
            if stage is None or stage in known_stages:
                continue
            problems.append(
                (
                    (*at, "triggers", i, "on", key),
                    f"trigger on unknown stage {stage!r}",
                    _suggest(stage, known_stages)
                    or (
                        "stages: " + ", ".join(sorted(known_stages))
                        if known_stages
                        else "declare the stage under 'thresholds'"
                    ),
                ),
            )
        if on.crosses is not None and on.crosses.score not in score_fields - {"grade"}:
            problems.append(
                (
                    (*at, "triggers", i, "on", "crosses", "score"),
                    f"trigger crosses unknown score {on.crosses.score!r}",
                    _suggest(on.crosses.score, score_fields - {"grade"})
                    or "use total or a group name: " + ", ".join(sorted(score_fields - {"grade"})),
                )
            )
        if on.holds is not None and trig.hysteresis is not None:
            problems.append(
                (
                    (*at, "triggers", i, "hysteresis"),
                    "'hysteresis' does not apply to a 'holds' trigger",
                    "remove it: the clock restarts when the condition stops holding",
                )
            )
        if on.holds is not None:
            for field in sorted(condition_fields(on.holds) - score_fields - {"stage"}):
                problems.append(
                    (
                        (*at, "triggers", i, "on", "holds", field),
                        f"trigger condition reads unknown score {field!r}",
                        _suggest(field, score_fields)
                        or "use total, grade, stage or a group name: "
                        + ", ".join(sorted(score_fields)),
                    )
                )


def check_groups(
    problems: Problems, groups: dict, exclusions, total, at: tuple, reserved: set[str]
) -> None:
    """Group names, unique rule names, weights only in weighted means, known total weights."""
    for name in groups:
        if not NAME_RE.match(name) or name in reserved:
            problems.append(
                (
                    (*at, "groups", name),
                    f"bad group name {name!r}",
                    "use letters, digits and _, not " + "/".join(sorted(reserved)),
                ),
            )
    seen: dict[str, tuple] = {}
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
    if total.weights is not None:
        for gname in total.weights:
            if gname not in groups:
                problems.append(
                    (
                        (*at, "total", "weights", gname),
                        f"unknown group {gname!r}",
                        _suggest(gname, groups),
                    ),
                )

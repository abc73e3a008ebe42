"""Triggers: what to do when a score changes, and the actions they run.

A trigger fires ``on`` a stage entered or left, a score crossing a value, or a
condition on the scores holding for a while; then its actions run (a webhook, an
e-mail, a CRM sync). The service checks triggers after every score change.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Discriminator, Field, Tag, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .conditions import Condition, condition_fields
from .rules import Frozen, Location, Problems, optional_condition, optional_duration, suggest


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
        value = self.above if self.above is not None else self.below
        assert value is not None, "validated: exactly one of above and below"
        return value


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

    _c = field_validator("holds", mode="before")(optional_condition)
    _d = field_validator("for_", mode="before")(optional_duration)

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


COLOUR_RE = r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"


class Trigger(Frozen):
    """What to do when a score changes; with a ``tag`` (and ``colour``), the contacts it
    fired for, until it re-arms, are marked so on the leads list and the contact page
    (Mautic's "contacts over 80 shown red")."""

    name: str = Field(min_length=1)
    on: TriggerOn
    hysteresis: float | None = Field(
        default=None,
        ge=0,
        description="points the score must move back past the threshold before firing again",
    )
    tag: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        description="a short label shown beside the contacts the trigger fired for",
    )
    colour: str | None = Field(
        default=None,
        description="the tag's colour, #rgb or #rrggbb (a tag of the trigger's name "
        "when no tag is given)",
    )
    actions: tuple[Action, ...] = Field(default=(), description="what runs when it fires")

    @field_validator("colour")
    @classmethod
    def _colour(cls, value: str | None) -> str | None:
        if value is None or re.fullmatch(COLOUR_RE, value):
            return value
        raise PydanticCustomError(
            "hinted",
            "{message}",
            {
                "message": f"colour {value[:40]!r} is not a colour the pages can show",
                "hint": 'write it as #rgb or #rrggbb, quoted, e.g. colour: "#dc2626" (red)',
            },
        )

    @property
    def label(self) -> str | None:
        """The tag shown for the contacts it fired for (None: the trigger shows nothing)."""
        if self.tag is not None:
            return self.tag
        return self.name if self.colour is not None else None

    @model_validator(mode="after")
    def _does_something(self) -> Trigger:
        if not self.actions and self.label is None:
            raise PydanticCustomError(
                "trigger",
                "a trigger needs actions (e.g. actions: [{webhook: {url: ...}}]) or a "
                'tag to show (e.g. tag: Hot, colour: "#dc2626")',
                {},
            )
        return self

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


TEXT_SCORES = {"grade", "matrix", "quadrant"}
"""Scores that are text: a ``crosses`` trigger cannot read them."""


def check_triggers(
    problems: Problems,
    triggers: Sequence[Trigger],
    known_stages: set[str],
    score_fields: set[str],
    at: Location,
    taken: set[str] | None = None,
) -> None:
    """Trigger names are unique (also against ``taken``) and read known stages and scores."""
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
                    suggest(stage, known_stages)
                    or (
                        "stages: " + ", ".join(sorted(known_stages))
                        if known_stages
                        else "declare the stage under 'thresholds'"
                    ),
                ),
            )
        if on.crosses is not None and on.crosses.score not in score_fields - TEXT_SCORES:
            problems.append(
                (
                    (*at, "triggers", i, "on", "crosses", "score"),
                    f"trigger crosses unknown score {on.crosses.score!r}",
                    suggest(on.crosses.score, score_fields - TEXT_SCORES)
                    or "use total or a group name: "
                    + ", ".join(sorted(score_fields - TEXT_SCORES)),
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
                        suggest(field, score_fields)
                        or "use total, grade, stage or a group name: "
                        + ", ".join(sorted(score_fields)),
                    )
                )

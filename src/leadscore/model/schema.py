"""The typed tree of a scoring model.

Parsed once from YAML (see :mod:`leadscore.model.loader`); every evaluator reads
these frozen objects. A :class:`ScoringModel` is made of the parts in
:mod:`~leadscore.model.rules` (rules and groups), :mod:`~leadscore.model.spine`
(scale, total, grades, thresholds), :mod:`~leadscore.model.triggers` and
:mod:`~leadscore.model.accounts` (the ``account:`` section); this module names them
all, so ``leadscore.model.schema`` is where the language's types are found.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cached_property
from typing import Any

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .accounts import AccountScoring, AccountUse, account_use, check_account_use
from .conditions import Condition, condition_fields
from .matrix import (
    QUADRANT_KEYS,
    Axes,
    Matrix,
    Quadrants,
    axes_of,
    check_cell_reads,
    check_matrix,
)
from .rules import (
    EVENT_KINDS,
    NAME_RE,
    NO_DECAY,
    RULE_KINDS,
    Case,
    CompletenessRule,
    Decay,
    EventRule,
    FrequencyRule,
    Frozen,
    Group,
    InactivityRule,
    Limit,
    Location,
    Problems,
    PropertyRule,
    Rule,
    RuleBase,
    Step,
    as_condition,
    as_duration,
    check_groups,
    optional_condition,
    optional_duration,
    rule_kind,
    suggest,
)
from .spine import (
    PREDICTED,
    Grades,
    Scale,
    Threshold,
    Total,
    check_bounds,
    check_thresholds,
    read_grades,
)
from .triggers import (
    TRIGGER_KINDS,
    Action,
    CrmAction,
    Crossing,
    EmailAction,
    Trigger,
    TriggerOn,
    WebhookAction,
    check_triggers,
)

__all__ = [
    "EVENT_KINDS",
    "MODEL_DIR_RE",
    "MODEL_NAME_RE",
    "NAME_RE",
    "NO_DECAY",
    "PREDICTED",
    "QUADRANT_KEYS",
    "RESERVED_GROUPS",
    "RULE_KINDS",
    "STORED",
    "TRIGGER_KINDS",
    "AccountScoring",
    "Action",
    "Axes",
    "Case",
    "CompletenessRule",
    "CrmAction",
    "Crossing",
    "Decay",
    "EmailAction",
    "EventRule",
    "Exclusion",
    "FrequencyRule",
    "Frozen",
    "Grades",
    "Group",
    "InactivityRule",
    "Lifecycle",
    "Limit",
    "Location",
    "Matrix",
    "Predicted",
    "Problems",
    "PropertyRule",
    "Quadrants",
    "Rule",
    "RuleBase",
    "Scale",
    "ScoringModel",
    "Step",
    "Threshold",
    "Total",
    "Trigger",
    "TriggerOn",
    "WebhookAction",
    "as_condition",
    "as_duration",
    "check_groups",
    "check_thresholds",
    "check_triggers",
    "optional_condition",
    "optional_duration",
    "read_grades",
    "rule_kind",
    "suggest",
]

RESERVED_GROUPS = {"total", "grade", "stage", "excluded", "matrix", "quadrant"}
"""Names a contact group may not take: they are the spine's own scores."""
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
    """Whether the text being validated is a stored version (see :data:`STORED`)."""
    return bool(info.context and info.context.get(STORED))


class Exclusion(Frozen):
    """Disqualifies a contact: the total is forced to the scale's floor and no stage is given."""

    name: str = Field(min_length=1)
    when: Condition | None = None
    on: Condition | None = None
    within: int | None = None
    description: str | None = None

    _c = field_validator("when", "on", mode="before")(optional_condition)
    _d = field_validator("within", mode="before")(optional_duration)

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


class Lifecycle(Frozen):
    """Where a contact's current stage (its phase) comes from, and whether a stage once
    entered is kept.

    The phase is the contact's ``stage_property`` when it names a stage of the model;
    groups that reset on stage change count from its ``entered_at_property``. The
    service records each stage a contact enters under a model and gives both values
    from that record (or from the CRM, when it changes them later).
    """

    stage_property: str = "lifecycle_stage"
    entered_at_property: str = "lifecycle_stage_entered_at"
    keep_stage: bool | None = Field(
        default=None,
        description="a stage entered stays until a threshold moves the contact on, or "
        "the CRM changes it (default: true when a group resets on stage, else false)",
    )
    stages: tuple[str, ...] = Field(
        default=(),
        description="further stages the CRM may set (e.g. recycled), which thresholds' "
        "'from' may name",
    )


class ScoringModel(Frozen):
    """A whole scoring model. Build it with :func:`leadscore.load_model`."""

    name: str = Field(min_length=1)
    description: str | None = None
    scale: Scale = Scale()
    groups: dict[str, Group] = Field(min_length=1)
    total: Total = Total()
    exclusions: tuple[Exclusion, ...] = ()
    grades: Grades | None = None
    matrix: Matrix | None = Field(
        default=None, description="a fit letter × engagement band cell (A1…D4) and quadrant"
    )
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
        problems: Problems = []
        check_groups(
            problems, self.groups, self.exclusions, self.total.weights, (), RESERVED_GROUPS
        )
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
                    suggest(self.grades.group, scored),
                ),
            )
        score_fields = {"total", "grade", *scored}
        if self.matrix is not None:  # thresholds and triggers may read the cell
            score_fields |= {"matrix", "quadrant"}
        phases = set(self.lifecycle.stages) | (
            {self.default_stage} if self.default_stage else set()
        )
        stages = check_thresholds(problems, self.thresholds, score_fields, (), phases)
        known_stages = stages | phases
        check_triggers(problems, self.triggers, known_stages, score_fields, ())
        check_bounds(
            problems,
            self.scale,
            self.groups,
            self.grades,
            self.thresholds,
            (),
            extra={PREDICTED: (0.0, 100.0)} if self.predicted is not None else None,
            triggers=self.triggers,
        )
        if self.matrix is not None:
            spans = {
                g: (
                    float("-inf") if group.min is None else group.min,
                    float("inf") if group.max is None else group.max,
                )
                for g, group in self.groups.items()
            }
            check_matrix(problems, self.matrix, self.grades, spans)
            if self.matrix_axes is not None:
                check_cell_reads(problems, self.matrix_axes, self.thresholds)
        check_account_use(self, problems)
        if problems:
            raise PydanticCustomError(
                "crosscheck",
                "{count} cross-reference problems",
                {"count": len(problems), "problems": problems},
            )
        return self

    # Convenience used by the engines and the CLI
    def rules(self) -> Iterator[tuple[str, Rule]]:
        """Every (group name, rule) pair in model order."""
        for gname, group in self.groups.items():
            for rule in group.rules:
                yield gname, rule

    def reads_predicted(self) -> bool:
        """Whether the total, a grade or a threshold depends on the ``predicted`` score,
        which only the service computes (from the trained model)."""
        if self.predicted is None:
            return False
        return (
            self.predicted.weight > 0
            or (self.grades is not None and self.grades.group == PREDICTED)
            or any(PREDICTED in condition_fields(t.when) for t in self.thresholds)
            or (self.account is not None and self.account.reads_contact_score(PREDICTED))
        )

    @property
    def keeps_stage(self) -> bool:
        """Whether a stage once entered is kept (``lifecycle.keep_stage``; by default when
        a group resets on stage change: its points restart at zero on entering a stage,
        and the stage must not fall back with them)."""
        if self.lifecycle.keep_stage is not None:
            return self.lifecycle.keep_stage
        return any(g.reset_on_stage for g in self.groups.values())

    @cached_property
    def known_stages(self) -> frozenset[str]:
        """The stages a contact can be in under this model: the thresholds', the default
        stage and ``lifecycle.stages``."""
        extra = {self.default_stage} if self.default_stage is not None else set()
        return frozenset({t.stage for t in self.thresholds} | extra | set(self.lifecycle.stages))

    @cached_property
    def stage_rank(self) -> dict[str, int]:
        """The funnel order of the stages: a threshold's stage ranks by its first
        threshold (the first written is the highest), every other stage below them all."""
        rank = {s: len(self.thresholds) for s in self.known_stages}
        for i, t in enumerate(reversed(self.thresholds)):
            rank[t.stage] = len(self.thresholds) - 1 - i
        return rank

    def reads_phase(self) -> bool:
        """Whether the stage depends on the contact's current stage: kept stages or a
        per-phase threshold."""
        return bool(self.thresholds) and (
            self.keeps_stage or any(t.from_ is not None for t in self.thresholds)
        )

    def phase_of(self, value: Any) -> str | None:
        """The contact's phase from its stage property: the value when it is text naming
        a stage of the model (exactly), else none."""
        return value if isinstance(value, str) and value in self.known_stages else None

    @property
    def matrix_axes(self) -> Axes | None:
        """The matrix with its letters resolved (:class:`~.matrix.Axes`), or None."""
        return None if self.matrix is None else axes_of(self.matrix, self.grades)

    @cached_property
    def account_use(self) -> AccountUse:
        """What the contact rules read of their account (:class:`~.accounts.AccountUse`)."""
        return account_use(self)

    def effective_decay(self, group: str, rule: EventRule) -> Decay:
        """The decay an event rule's points follow: its own, else its group's."""
        return rule.decay if rule.decay is not None else self.groups[group].decay

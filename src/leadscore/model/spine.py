"""The score spine as a model declares it: how group scores become a total, a grade
and a stage.

A model (and its account section) weighs its groups into the total (:class:`Total`),
clamps it to a :class:`Scale`, grades one group with letters (:class:`Grades`) and
names stages by :class:`Threshold` conditions on the scores. What these mean,
evaluated, is :mod:`leadscore.engine.spine`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .conditions import AllOf, Condition, Predicate, condition_fields, describe
from .rules import Frozen, Location, Problems, as_condition, suggest

PREDICTED = "predicted"
"""The score of a model's trained predictive model: a group beside the rule groups."""


class Scale(Frozen):
    """The range of the total: it is clamped to [min, max]; an excluded subject gets min."""

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
    """A stage, given when its condition on the scores holds (the first that holds wins).

    ``from`` makes it a per-phase threshold: it applies only while the contact's
    current stage (its phase: the stage recorded, or the CRM's) is one of those named,
    e.g. a higher MQL bar for recycled contacts."""

    stage: str = Field(min_length=1)
    when: Condition
    from_: tuple[str, ...] | None = Field(
        default=None,
        alias="from",
        min_length=1,
        description="the phases (current stages) in which this threshold applies",
    )

    _c = field_validator("when", mode="before")(as_condition)

    @field_validator("from_", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


def check_thresholds(
    problems: Problems,
    thresholds: Sequence[Threshold],
    score_fields: set[str],
    at: Location,
    phases: set[str] | None = None,
) -> set[str]:
    """Thresholds read known scores and name each stage once per phase; returns the
    stages. ``phases``: the stages a threshold's ``from`` may name (None: ``from`` is
    refused, as in an account section, which has no lifecycle)."""
    stages: set[str] = set()
    seen: dict[str, list[frozenset[str] | None]] = {}
    known = {th.stage for th in thresholds} | (phases or set())
    for i, th in enumerate(thresholds):
        if th.from_ is not None and phases is None:
            problems.append(
                (
                    (*at, "thresholds", i, "from"),
                    "'from' (a per-phase threshold) reads a contact's lifecycle stage; "
                    "accounts have none",
                    "remove 'from' from the account threshold",
                )
            )
        for phase in th.from_ or ():
            if phases is not None and phase not in known:
                problems.append(
                    (
                        (*at, "thresholds", i, "from"),
                        f"threshold from unknown stage {phase!r}",
                        suggest(phase, known)
                        or "name a threshold's stage, the default_stage or a stage listed "
                        "under lifecycle.stages",
                    )
                )
        mine = None if th.from_ is None else frozenset(th.from_)
        clash = any(
            (o is None and mine is None) or (o is not None and mine is not None and o & mine)
            for o in seen.get(th.stage, [])
        )
        if clash:
            problems.append(
                (
                    (*at, "thresholds", i, "stage"),
                    f"stage {th.stage!r} twice" + ("" if mine is None else " for the same phase"),
                    "give a stage one threshold per phase: the second one never applies",
                )
            )
            continue
        seen.setdefault(th.stage, []).append(mine)
        for field in sorted(condition_fields(th.when) - score_fields):
            problems.append(
                (
                    (*at, "thresholds", i, "when", field),
                    f"threshold reads unknown score {field!r}",
                    suggest(field, score_fields)
                    or "use total, grade or a group name: " + ", ".join(sorted(score_fields)),
                ),
            )
        stages.add(th.stage)
    return stages


# --------------------------------------------------------------------------- bounds

_INF = float("inf")


class Bounded(Protocol):
    """A group with optional bounds (of a model or of its account section)."""

    @property
    def min(self) -> float | None: ...

    @property
    def max(self) -> float | None: ...


def _reach(op: str, value: Any, lo: float, hi: float) -> str | None:
    """Why ``field <op> value`` can never hold for a score held within [lo, hi], or None."""
    if isinstance(value, bool):
        return None
    number = isinstance(value, int | float)
    if op in ("gte", "gt", "eq") and number and (value > hi or (op == "gt" and value >= hi)):
        return f"the most it can be is {hi:g}"
    if op in ("lte", "lt", "eq") and number and (value < lo or (op == "lt" and value <= lo)):
        return f"the least it can be is {lo:g}"
    if op == "between" and isinstance(value, tuple) and len(value) == 2:
        a, b = value
        if isinstance(a, int | float) and isinstance(b, int | float):
            if a > hi:
                return f"the most it can be is {hi:g}"
            if b < lo:
                return f"the least it can be is {lo:g}"
    return None


def check_bounds(
    problems: Problems,
    scale: Scale,
    groups: Mapping[str, Bounded],
    grades: Grades | None,
    thresholds: Sequence[Threshold],
    at: Location,
    extra: Mapping[str, tuple[float, float]] | None = None,
    triggers: Sequence[Any] = (),
) -> None:
    """Refuse bounds no score can live with: a group whose max is below 0 or below its
    min, and grades or thresholds asking for a score outside the range it is held in
    (the total within the scale, a group within its min and max). ``extra`` gives the
    range of further scores (the ``predicted`` score: 0–100)."""
    ranges: dict[str, tuple[float, float]] = {"total": (scale.min, scale.max), **(extra or {})}
    for gname, group in groups.items():
        lo = -_INF if group.min is None else group.min
        hi = _INF if group.max is None else group.max
        where = (*at, "groups", gname)
        if group.min is not None and group.max is not None and group.min > group.max:
            problems.append(
                (
                    (*where, "min"),
                    f"group {gname!r}: min {group.min:g} is above max {group.max:g}, so no "
                    "score fits between them",
                    f"make min at most max, e.g. min: {min(0.0, group.max):g}, max: "
                    f"{group.max:g} (or swap the two numbers)",
                )
            )
            continue
        if group.max is not None and group.max < 0:
            problems.append(
                (
                    (*where, "max"),
                    f"group {gname!r}: max {group.max:g} is below 0: every contact would "
                    f"score at most {group.max:g} in it, even one no rule fires for",
                    "max caps the points a group can give: use 0 or more (e.g. max: 60); "
                    "to take points away, give rules negative points and set min instead",
                )
            )
            continue
        ranges[gname] = (lo, hi)
    if grades is not None and grades.group in ranges:
        lo, hi = ranges[grades.group]
        for letter, minimum in grades.letters:
            if minimum > hi:
                problems.append(
                    (
                        (*at, "grades", grades.group, letter),
                        f"grade {letter} needs {grades.group} ≥ {minimum:g}, but {grades.group} "
                        f"is held at most {hi:g}: no contact can get {letter}",
                        f"lower {letter}'s minimum to {hi:g} or less, or raise the max of "
                        f"{grades.group!r}" + (" (the scale)" if grades.group == "total" else ""),
                    )
                )
    for i, th in enumerate(thresholds):
        preds = _conjuncts(th.when)
        for pred in preds:
            if pred.field not in ranges:
                continue
            lo, hi = ranges[pred.field]
            why = _reach(pred.op, pred.value, lo, hi)
            if why is None:
                continue
            held = (
                f"the scale is {lo:g}–{hi:g}"
                if pred.field == "total"
                else f"{pred.field} is held within {_span(lo, hi)}"
            )
            problems.append(
                (
                    (*at, "thresholds", i, "when", pred.field),
                    f"stage {th.stage!r} can never be reached: it needs {describe(pred)}, "
                    f"but {held} ({why})",
                    f"use a value inside {_span(lo, hi)}, or widen "
                    + ("the scale" if pred.field == "total" else f"group {pred.field!r}'s bounds"),
                )
            )

    for i, trig in enumerate(triggers):
        crossing = trig.on.crosses
        if crossing is None or crossing.score not in ranges:
            continue
        lo, hi = ranges[crossing.score]
        if crossing.above is not None and crossing.above > hi:
            why, side, value = f"the most it can be is {hi:g}", "above", crossing.above
        elif crossing.below is not None and crossing.below <= lo:
            why, side, value = f"the least it can be is {lo:g}", "below", crossing.below
        else:
            continue
        problems.append(
            (
                (*at, "triggers", i, "on", "crosses", side),
                f"trigger {trig.name!r} can never fire: {crossing.score} never crosses "
                f"{side} {value:g} ({why})",
                f"use a value inside {_span(lo, hi)}",
            )
        )


def _span(lo: float, hi: float) -> str:
    left = "-∞" if lo == -_INF else f"{lo:g}"
    right = "∞" if hi == _INF else f"{hi:g}"
    return f"{left}–{right}"


def _conjuncts(cond: Condition) -> list[Predicate]:
    """The predicates that must all hold for ``cond`` to hold (its top-level 'and')."""
    if isinstance(cond, Predicate):
        return [cond]
    if isinstance(cond, AllOf):
        return [p for item in cond.items for p in _conjuncts(item)]
    return []

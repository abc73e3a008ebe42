"""The score spine as a model declares it: how group scores become a total, a grade
and a stage.

A model (and its account section) weighs its groups into the total (:class:`Total`),
clamps it to a :class:`Scale`, grades one group with letters (:class:`Grades`) and
names stages by :class:`Threshold` conditions on the scores. What these mean,
evaluated, is :mod:`leadscore.engine.spine`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .conditions import Condition, condition_fields
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
    """A stage, given when its condition on the scores holds (the first that holds wins)."""

    stage: str = Field(min_length=1)
    when: Condition

    _c = field_validator("when", mode="before")(as_condition)


def check_thresholds(
    problems: Problems, thresholds: Sequence[Threshold], score_fields: set[str], at: Location
) -> set[str]:
    """Thresholds read known scores and name each stage once; returns the stages."""
    stages: set[str] = set()
    for i, th in enumerate(thresholds):
        for field in sorted(condition_fields(th.when) - score_fields):
            problems.append(
                (
                    (*at, "thresholds", i, "when", field),
                    f"threshold reads unknown score {field!r}",
                    suggest(field, score_fields)
                    or "use total, grade or a group name: " + ", ".join(sorted(score_fields)),
                ),
            )
        if th.stage in stages:
            problems.append(((*at, "thresholds", i, "stage"), f"stage {th.stage!r} twice", None))
        stages.add(th.stage)
    return stages

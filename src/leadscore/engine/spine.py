"""The score spine: from the points of a subject's rules to its groups, total, grade and stage.

Every way of scoring a contact (or an account) ends the same way, and this module is
that meaning, for one subject:

1. a group's score is its rules' points summed, or their weighted mean
   (``combine: weighted_mean``), then held within the group's ``min`` and ``max``;
2. the total is the groups summed, or weighted (``total.weights``), plus the share of
   the ``predicted`` score (its ``weight``) when the model declares one, clamped to
   the scale; an excluded subject's total is the scale's floor;
3. the grade is the first letter whose minimum the graded group reaches, else the
   ``else`` letter (no grade when the model has none, or when the graded group is not
   scored: the ``predicted`` score, which only the service computes);
4. the stage is the stage of the first threshold that applies in the subject's phase
   (its current stage) and holds on the groups, total, grade and matrix cell, else the
   default stage (or, when the model keeps stages, the phase); an excluded subject has
   none;
5. the matrix cell (a model's ``matrix:``) is the letter of the fit group's score and
   the number of the engagement group's band (``A1``), with its quadrant; like the
   grade it reads groups only, so an excluded or adjusted subject keeps it.

Manual adjustments (:func:`adjusted`) add points to a total: clamped again, the stage
re-derived, the grade unchanged (it reads a group).

The in-process evaluator, account scores, the service's ``predicted`` group, manual
adjustments and triggers call these functions. Two vectorised forms of the same meaning
are held to them by tests: the SQL compiler (``engine/sql/compiler.py``; the differential
tests in ``tests/engine_sql`` compare every SQL engine with the in-process evaluator) and
the backtest's numpy path (``evaluate/scoring.py``; ``tests/engine/test_spine.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from ..model.accounts import AccountGroup, AccountScoring
from ..model.schema import PREDICTED, Group, ScoringModel
from .conditions import evaluate

Scoring: TypeAlias = ScoringModel | AccountScoring
"""What declares a spine: a model (for contacts) or its ``account:`` section."""
ScoreGroup: TypeAlias = Group | AccountGroup
"""A group of rules, of a model or of its account section."""


@dataclass(frozen=True)
class Outcome:
    """What the spine gives one subject: its total, grade and stage."""

    total: float
    grade: str | None
    stage: str | None


def group_score(group: ScoreGroup, points: Sequence[float]) -> float:
    """A group's score from the points of its rules (in the group's order): their sum or
    weighted mean, then held within the group's min and max. An empty group is 0."""
    if group.combine == "weighted_mean" and points:
        weights = [rule.weight for rule in group.rules]
        value = sum(p * w for p, w in zip(points, weights, strict=True)) / sum(weights)
    else:
        value = sum(points)
    if group.max is not None:
        value = min(value, group.max)
    if group.min is not None:
        value = max(value, group.min)
    return float(value)


def predicted_share(scoring: Scoring, groups: Mapping[str, float]) -> float | None:
    """The ``predicted`` score's part of the total: its weight times the score, when the
    model declares a trained model with a weight and the score is among ``groups``."""
    if not isinstance(scoring, ScoringModel) or scoring.predicted is None:
        return None
    weight = scoring.predicted.weight
    if not weight or PREDICTED not in groups:
        return None
    return weight * groups[PREDICTED]


def raw_total(scoring: Scoring, groups: Mapping[str, float]) -> float:
    """The rule groups summed (or weighted by ``total.weights``), plus the predicted
    share: the total before it is clamped to the scale."""
    if scoring.total.weights is not None:
        raw = sum(groups[g] * w for g, w in scoring.total.weights.items())
    else:
        raw = sum(groups[g] for g in scoring.groups)
    share = predicted_share(scoring, groups)
    return raw if share is None else raw + share


def clamp(scoring: Scoring, value: float) -> float:
    """``value`` held within the scale."""
    return min(max(value, scoring.scale.min), scoring.scale.max)


def total_of(scoring: Scoring, groups: Mapping[str, float]) -> float:
    """The total of a subject that is not excluded: :func:`raw_total`, clamped."""
    return clamp(scoring, raw_total(scoring, groups))


def grade_of(scoring: Scoring, groups: Mapping[str, float]) -> str | None:
    """The first letter whose minimum the graded group reaches (None without grades, or
    when the graded group is not among ``groups``)."""
    grades = scoring.grades
    if grades is None or grades.group not in groups:
        return None
    value = groups[grades.group]
    return next((letter for letter, m in grades.letters if value >= m), grades.otherwise)


def matrix_of(scoring: Scoring, groups: Mapping[str, float]) -> tuple[str, str] | None:
    """The matrix cell (``A1``) and quadrant name the groups give, or None when the
    model declares no matrix."""
    axes = scoring.matrix_axes if isinstance(scoring, ScoringModel) else None
    if axes is None or axes.fit not in groups or axes.engagement not in groups:
        return None
    letter, band = axes.letter(groups[axes.fit]), axes.band(groups[axes.engagement])
    return f"{letter}{band}", axes.quadrant(letter, band)


def stage_of(
    scoring: Scoring,
    groups: Mapping[str, float],
    total: float,
    grade: str | None,
    phase: str | None = None,
) -> str | None:
    """The stage of the first threshold that applies and holds, else the default stage.

    ``phase`` is the contact's current stage (see :meth:`ScoringModel.phase_of`). A
    threshold with ``from`` applies only in those phases (no phase: the default
    stage's). When the model keeps stages, a threshold without ``from`` never moves a
    contact down the funnel (to a stage ranked below its phase), and when none applies
    the contact stays in its phase."""
    scores: dict[str, object] = {**groups, "total": total, "grade": grade}
    cell = matrix_of(scoring, groups)
    if cell is not None:  # thresholds may read ``matrix`` and ``quadrant``
        scores.update(matrix=cell[0], quadrant=cell[1])
    if not isinstance(scoring, ScoringModel) or not scoring.reads_phase():
        return next(
            (t.stage for t in scoring.thresholds if evaluate(t.when, scores)),
            scoring.default_stage,
        )
    keep, rank = scoring.keeps_stage, scoring.stage_rank
    at = phase if phase is not None else scoring.default_stage
    for t in scoring.thresholds:
        if t.from_ is not None and at not in t.from_:
            continue
        if keep and t.from_ is None and phase is not None and rank[t.stage] > rank[phase]:
            continue
        if evaluate(t.when, scores):
            return t.stage
    return phase if keep and phase is not None else scoring.default_stage


def stage(
    scoring: Scoring,
    groups: Mapping[str, float],
    total: float,
    grade: str | None,
    excluded: bool,
    phase: str | None = None,
) -> str | None:
    """The stage these scores give: none for an excluded subject, else :func:`stage_of`."""
    return None if excluded else stage_of(scoring, groups, total, grade, phase)


def outcome(
    scoring: Scoring, groups: Mapping[str, float], *, excluded: bool, phase: str | None = None
) -> Outcome:
    """Total, grade and stage of a subject from its group scores (and its phase)."""
    total = scoring.scale.min if excluded else total_of(scoring, groups)
    grade = grade_of(scoring, groups)
    return Outcome(total, grade, stage(scoring, groups, total, grade, excluded, phase))


def adjusted(
    scoring: Scoring,
    groups: Mapping[str, float],
    total: float,
    grade: str | None,
    points: float,
    phase: str | None = None,
) -> Outcome:
    """A total (of a subject that is not excluded) with manual ``points`` added: clamped
    to the scale again, with the stage it gives; the grade reads a group and stays."""
    new = clamp(scoring, total + points)
    return Outcome(new, grade, stage_of(scoring, groups, new, grade, phase))

"""Score a whole population with several models, each contact as of its own time.

:func:`score_population` is the one place that chooses an evaluator: today the
in-process reference evaluator; a batch SQL evaluator slots in here without
touching the metrics.

:func:`without_rule` builds the typed model with one rule removed, and
:func:`recombine` computes that model's totals from the per-rule points already
scored (a rule's points never depend on the other rules, so this equals a full
rescoring; a test holds the two together).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from ..data.io import Inputs
from ..engine.inprocess import score_contact, to_event
from ..model.schema import ScoringModel


@dataclass
class Scored:
    """One model's scores over the population, in contact order."""

    model: ScoringModel
    total: np.ndarray  # float per contact
    grade: list[str | None]
    stage: list[str | None]
    excluded: np.ndarray  # bool per contact
    rules: list[tuple[str, str]]  # (group, rule name), model order
    points: np.ndarray  # contacts × rules: points each rule added
    fired: np.ndarray  # contacts × rules: whether the rule fired

    @classmethod
    def empty(cls, model: ScoringModel, n: int) -> Scored:
        rules = [(g, r.name) for g, r in model.rules()]
        return cls(
            model=model,
            total=np.zeros(n),
            grade=[None] * n,
            stage=[None] * n,
            excluded=np.zeros(n, dtype=bool),
            rules=rules,
            points=np.zeros((n, len(rules))),
            fired=np.zeros((n, len(rules)), dtype=bool),
        )


@dataclass
class Population:
    """Contact ids, outcomes and as-of times, plus each model's scores."""

    ids: list[str]
    y: np.ndarray
    as_of: list[datetime]
    scored: dict[str, Scored]


Selector = Callable[[dict], tuple[bool, float, datetime]]


def score_population(
    models: list[ScoringModel],
    inputs: Inputs,
    select: Selector,
    *,
    progress: Callable[[int], None] | None = None,
) -> Population:
    """Score every contact that ``select`` keeps.

    ``select(contact)`` returns ``(keep, outcome, as_of)``: whether the contact
    takes part, its outcome (1.0 / 0.0) and the time it is scored as of (events
    after it are ignored).
    """
    ids: list[str] = []
    ys: list[float] = []
    times: list[datetime] = []
    rows: dict[str, list] = {m.name: [] for m in models}
    for contact, raw_events in inputs.contact_rows():
        if progress is not None:
            progress(1)
        keep, outcome, when = select(contact)
        if not keep:
            continue
        events = [to_event(e) for e in raw_events]
        ids.append(str(contact["id"]))
        ys.append(outcome)
        times.append(when)
        for model in models:
            rows[model.name].append(score_contact(model, contact, events, as_of=when))
    n = len(ids)
    scored = {}
    for model in models:
        out = Scored.empty(model, n)
        for i, res in enumerate(rows[model.name]):
            out.total[i] = res.total
            out.grade[i] = res.grade
            out.stage[i] = res.stage
            out.excluded[i] = res.excluded
            for j, hit in enumerate(res.breakdown):
                out.points[i, j] = hit.points
                out.fired[i, j] = hit.fired
        scored[model.name] = out
    return Population(ids=ids, y=np.array(ys, dtype=float), as_of=times, scored=scored)


def without_rule(model: ScoringModel, rule: str) -> ScoringModel:
    """The same model with the named rule taken out of its group."""
    groups = {}
    found = False
    for gname, group in model.groups.items():
        kept = tuple(r for r in group.rules if r.name != rule)
        found = found or len(kept) != len(group.rules)
        groups[gname] = group.model_copy(update={"rules": kept})
    if not found:
        raise KeyError(rule)
    return model.model_copy(update={"groups": groups})


def recombine(model: ScoringModel, scored: Scored) -> np.ndarray:
    """Totals of ``model`` (whose rules are a subset of ``scored``'s) from the
    per-rule points already computed, with the evaluator's arithmetic order."""
    column = {name: j for j, (_, name) in enumerate(scored.rules)}
    n = len(scored.total)
    groups: dict[str, np.ndarray] = {}
    for gname, group in model.groups.items():
        cols = [(column[r.name], r.weight) for r in group.rules]
        value = np.zeros(n)
        if group.combine == "weighted_mean" and cols:
            for j, w in cols:
                value = value + scored.points[:, j] * w
            weight = 0
            for _, w in cols:
                weight = weight + w
            value = value / weight
        else:
            for j, _ in cols:
                value = value + scored.points[:, j]
        if group.max is not None:
            value = np.minimum(value, group.max)
        if group.min is not None:
            value = np.maximum(value, group.min)
        groups[gname] = value
    total = np.zeros(n)
    if model.total.weights is not None:
        for g, w in model.total.weights.items():
            total = total + groups[g] * w
    else:
        for value in groups.values():
            total = total + value
    total = np.clip(total, model.scale.min, model.scale.max)
    return np.where(scored.excluded, model.scale.min, total)

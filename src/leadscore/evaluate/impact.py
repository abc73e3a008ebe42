"""Impact preview: what publishing a draft model would change for the population.

Both models score the same contacts as of the same time; the result counts how
many contacts would enter or leave each stage and change grade, as matrices
(rows: current model, columns: draft).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..data.io import Inputs
from ..model.schema import ScoringModel
from .outcomes import everyone
from .scoring import score_selection

EXCLUDED = "excluded"
NONE = "(none)"


@dataclass
class Impact:
    current: str
    draft: str
    as_of: datetime
    contacts: int
    stage_order: list[str]
    stages: dict[tuple[str, str], int]  # (current stage, draft stage) → contacts
    grade_order: list[str]
    grades: dict[tuple[str, str], int]
    score_up: int
    score_down: int
    mean_change: float

    def entering(self, stage: str) -> int:
        return sum(n for (a, b), n in self.stages.items() if b == stage and a != stage)

    def leaving(self, stage: str) -> int:
        return sum(n for (a, b), n in self.stages.items() if a == stage and b != stage)

    def count(self, stage: str, which: str) -> int:
        pos = 0 if which == "current" else 1
        return sum(n for key, n in self.stages.items() if key[pos] == stage)

    def to_dict(self) -> dict[str, Any]:
        return {
            "current": self.current,
            "draft": self.draft,
            "as_of": self.as_of.isoformat(),
            "contacts": self.contacts,
            "stages": [
                {
                    "stage": s,
                    "current": self.count(s, "current"),
                    "draft": self.count(s, "draft"),
                    "entering": self.entering(s),
                    "leaving": self.leaving(s),
                }
                for s in self.stage_order
            ],
            "stage_matrix": _matrix(self.stages, self.stage_order),
            "grade_matrix": _matrix(self.grades, self.grade_order),
            "score_up": self.score_up,
            "score_down": self.score_down,
            "mean_change": self.mean_change,
        }


def _matrix(cells: dict[tuple[str, str], int], order: list[str]) -> dict[str, dict[str, int]]:
    return {a: {b: cells.get((a, b), 0) for b in order} for a in order}


def _order(current: ScoringModel, draft: ScoringModel, seen: set[str]) -> list[str]:
    order: list[str] = []
    for model in (current, draft):
        for s in [t.stage for t in model.thresholds] + [model.default_stage]:
            if s is not None and s not in order:
                order.append(s)
    order += sorted(seen - set(order) - {EXCLUDED, NONE})
    return [*order, *(x for x in (NONE, EXCLUDED) if x in seen)]


def _grade_order(current: ScoringModel, draft: ScoringModel, seen: set[str]) -> list[str]:
    order: list[str] = []
    for model in (current, draft):
        if model.grades is not None:
            for g in [L for L, _ in model.grades.letters] + [model.grades.otherwise]:
                if g not in order:
                    order.append(g)
    order += sorted(seen - set(order) - {NONE})
    return [*order, *([NONE] if NONE in seen else [])]


def impact_preview(
    current: ScoringModel,
    draft: ScoringModel,
    inputs: Inputs,
    as_of: datetime,
    *,
    engine: str = "sql",
    progress: Callable[[int], None] | None = None,
) -> Impact:
    """Score everyone with both models as of ``as_of`` and compare."""
    if current.name == draft.name:
        draft = draft.model_copy(update={"name": draft.name + " (draft)"})
    pop = score_selection(
        [current, draft], inputs, everyone(inputs, as_of), engine=engine, progress=progress
    )
    a, b = pop.scored[current.name], pop.scored[draft.name]

    def stage(s, i):
        return EXCLUDED if s.excluded[i] else (s.stage[i] or NONE)

    n = len(pop.ids)
    stages = Counter((stage(a, i), stage(b, i)) for i in range(n))
    grades = Counter((a.grade[i] or NONE, b.grade[i] or NONE) for i in range(n))
    change = b.total - a.total
    return Impact(
        current=current.name,
        draft=draft.name,
        as_of=as_of,
        contacts=n,
        stage_order=_order(current, draft, {x for k in stages for x in k}),
        stages=dict(stages),
        grade_order=_grade_order(current, draft, {x for k in grades for x in k}),
        grades=dict(grades),
        score_up=int((change > 0).sum()),
        score_down=int((change < 0).sum()),
        mean_change=float(change.mean()) if n else 0.0,
    )

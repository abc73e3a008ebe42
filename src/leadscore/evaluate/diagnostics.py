"""Per-rule diagnostics: how often a rule fires, how converters and others differ,
and what the model's AUC would be without it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .metrics import rank, roc_auc
from .scoring import Scored, recombine, without_rule

# A rule whose removal moves AUC by less than this does nothing useful for ranking.
NO_EFFECT_AUC = 0.0005
# A rule whose removal raises AUC by more than this hurts the model.
HURTS_AUC = 0.001
# A rule whose points correlate with the outcome below −AGAINST points the wrong way.
AGAINST = 0.01


@dataclass(frozen=True)
class RuleDiagnostic:
    group: str
    rule: str
    kind: str
    fires_on: int  # contacts to which the rule adds or takes points
    fires_share: float
    conversion_with: float  # conversion rate of contacts it fires on
    conversion_without: float  # conversion rate of the others
    mean_points: float  # average points it adds where it fires
    auc_without: float
    auc_effect: float  # AUC of the model − AUC without the rule (> 0: the rule helps)
    flags: tuple[str, ...] = field(default_factory=tuple)


def _rate(y: np.ndarray, mask: np.ndarray) -> float:
    n = int(mask.sum())
    return float(y[mask].sum() / n) if n else float("nan")


def diagnose(scored: Scored, y: np.ndarray) -> list[RuleDiagnostic]:
    """One diagnostic per rule of ``scored.model``, in model order."""
    model = scored.model
    full = rank(scored.total, y)
    base_auc = roc_auc(*full.counts())
    kinds = {r.name: r.kind for _, r in model.rules()}
    out = []
    n = len(y)
    for j, (group, name) in enumerate(scored.rules):
        fired = scored.points[:, j] != 0
        count = int(fired.sum())
        variant = without_rule(model, name)
        auc_wo = roc_auc(*rank(recombine(variant, scored), y).counts())
        effect = base_auc - auc_wo
        with_rate, without_rate = _rate(y, fired), _rate(y, ~fired)
        points = scored.points[fired, j]
        mean_points = float(points.mean()) if count else 0.0
        flags = []
        if count == 0:
            flags.append("never fires")
        elif count == n:
            flags.append("fires on everyone")
        if count and abs(effect) < NO_EFFECT_AUC:
            flags.append("no effect on ranking")
        if effect < -HURTS_AUC:
            flags.append("hurts: AUC rises without it")
        column = scored.points[:, j]
        if 0 < count < n and column.std() > 0 and np.corrcoef(column, y)[0, 1] < -AGAINST:
            flags.append("points against the data: the more points it gives, the fewer convert")
        out.append(
            RuleDiagnostic(
                group=group,
                rule=name,
                kind=kinds[name],
                fires_on=count,
                fires_share=count / n if n else 0.0,
                conversion_with=with_rate,
                conversion_without=without_rate,
                mean_points=mean_points,
                auc_without=auc_wo,
                auc_effect=effect,
                flags=tuple(flags),
            )
        )
    return out

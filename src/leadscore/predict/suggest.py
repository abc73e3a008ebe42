"""``leadscore suggest``: how well a suggested scorecard ranks.

:func:`cross_validate` measures the scorecard procedure as it will be used: fit
on all folds but one, rank the contacts of the fold left out, in stratified
folds; a trained model (:class:`~.estimators.LeadModel` with ``train``'s
defaults) is measured in the same folds, so the two figures compare. The
columns it learns from are screened first (:mod:`.screen`), as ``train``'s are.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold

from .metrics import auc
from .table import Table, take

#: folds of the cross-validated AUC
CV_FOLDS = 5


@dataclass(frozen=True)
class CrossValidated:
    """AUC per fold of the scorecard, and of a trained model in the same folds."""

    scorecard: list[float]
    trained: list[float]

    @staticmethod
    def _text(values: list[float]) -> str:
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):.3f} ± {sd:.3f}"

    def describe(self) -> str:
        out = f"cross-validated AUC {self._text(self.scorecard)} ({len(self.scorecard)} folds)"
        if self.trained:
            out += f"; leadscore train's model in the same folds: {self._text(self.trained)}"
        return out


def cross_validate(
    make_scorecard: Callable[[], Any],
    make_model: Callable[[], Any] | None,
    table: Table,
    y: np.ndarray,
    folds: int = CV_FOLDS,
    seed: int = 0,
) -> CrossValidated:
    """AUC on each fold left out, of a scorecard (ranked by its points) and, when
    ``make_model`` is given, of a trained model in the same folds."""
    splits = StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)
    cards: list[float] = []
    models: list[float] = []
    for fit_idx, test_idx in splits:
        fit_t, test_t = take(table, fit_idx), take(table, test_idx)
        card = make_scorecard().fit(fit_t, y[fit_idx])
        cards.append(auc(y[test_idx], card.points(test_t)) if card.n_rules_ else 0.5)
        if make_model is not None:
            model = make_model().fit(fit_t, y[fit_idx])
            models.append(auc(y[test_idx], model.predict_proba(test_t)[:, 1]))
    return CrossValidated(cards, models)

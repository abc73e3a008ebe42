"""Metrics for a predicted probability against a known outcome."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

#: share of contacts, ranked by score, whose conversion rate "lift at 10%" compares
LIFT_SHARE = 0.10
#: numeric columns are cut into this many quantile bins for the single-feature AUC
LEAKAGE_BINS = 20


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve (0.5 = chance, 1 = perfect ranking)."""
    return float(roc_auc_score(y, p))


def lift_at(y: np.ndarray, p: np.ndarray, share: float = LIFT_SHARE) -> float:
    """Conversion rate of the top ``share`` of contacts divided by the overall rate.

    Ties at the cut-off are broken by position (stable order of the input).
    """
    y = np.asarray(y, dtype=float)
    n_top = max(1, round(share * len(y)))
    order = np.argsort(-np.asarray(p, dtype=float), kind="stable")
    base = y.mean()
    return float(y[order[:n_top]].mean() / base) if base > 0 else float("nan")


def summary(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """AUC, average precision, lift at 10% and Brier score, rounded for reports."""
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    return {
        "auc": round(auc(y, p), 4),
        "average_precision": round(float(average_precision_score(y, p)), 4),
        "lift_at_10pct": round(lift_at(y, p), 3),
        "brier": round(float(brier_score_loss(y, p)), 4),
        "rows": len(y),
        "positives": int(y.sum()),
    }


def single_feature_auc(x: np.ndarray, y: np.ndarray, categorical: bool) -> float:
    """How well one encoded feature alone separates the classes (0.5 to 1).

    Each value (categorical) or quantile bin (numeric), missing included, is
    replaced by its conversion rate in ``y``; the AUC of that is the best any
    ranking on this feature alone can do on these rows.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=int)
    if categorical:
        groups = np.where(np.isnan(x), -1.0, x)
    else:
        groups = np.full(len(x), -1.0)
        present = ~np.isnan(x)
        if present.any():
            edges = np.unique(np.quantile(x[present], np.linspace(0, 1, LEAKAGE_BINS + 1)[1:-1]))
            groups[present] = np.searchsorted(edges, x[present], side="right")
    keys, inverse = np.unique(groups, return_inverse=True)
    rate = np.bincount(inverse, weights=y, minlength=len(keys)) / np.bincount(
        inverse, minlength=len(keys)
    )
    score = rate[inverse]
    if np.all(score == score[0]):
        return 0.5
    value = auc(y, score)
    return max(value, 1.0 - value)

"""Baseline scorers that leadscore's models are measured against.

* :class:`NaiveBayesScorer`: a frequency table of (variable, value) won/lost
  counts, the method of Odoo's predictive lead scoring;
* :class:`LogisticOneHot`: logistic regression on one-hot categories and
  standardised numbers.

Both follow the estimator contract of :mod:`leadscore.predict.estimators`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from .estimators import as_outcome
from .table import Table, TableEncoder


class NaiveBayesScorer:
    """Naive-Bayes frequency table.

    For each (variable, value) pair the won and lost counts start at
    ``smoothing`` (0.1: +1 weighs too much on small data). Numeric columns are
    cut into ``bins`` quantile bins first. Empty values are skipped; values seen
    in fewer than ``min_support`` training rows, and values never seen, are
    ignored when scoring. The score is
    ``S_won / (S_won + S_lost)`` with ``S_won = P(won) * prod won(f, v) / sum_v' won(f, v')``,
    clipped to ``[clip, 1 - clip]`` (0.01% to 99.99% as a percentage).
    """

    def __init__(
        self,
        *,
        smoothing: float = 0.1,
        min_support: int = 1,
        bins: int = 10,
        clip: float = 0.0001,
        missing_values: Sequence[str] = (),
    ) -> None:
        self.smoothing = smoothing
        self.min_support = min_support
        self.bins = bins
        self.clip = clip
        self.missing_values = tuple(missing_values)

    def _values(self, matrix: np.ndarray) -> np.ndarray:
        """Encoded values, numeric columns replaced by their bin; NaN = empty."""
        out = matrix.copy()
        for j, col in enumerate(self.encoder_.columns_):
            if col.kind == "categorical":
                missing = matrix[:, j] == col.missing_code
                out[missing, j] = np.nan
            else:
                present = ~np.isnan(matrix[:, j])
                out[present, j] = np.searchsorted(self.edges_[j], matrix[present, j], side="right")
        return out

    def fit(self, table: Table, y: Sequence[Any]) -> NaiveBayesScorer:
        y = as_outcome(y)
        self.encoder_ = TableEncoder(min_count=1, missing_values=self.missing_values).fit(table)
        matrix = self.encoder_.transform(table)
        self.edges_: list[np.ndarray] = []
        for j, col in enumerate(self.encoder_.columns_):
            x = matrix[:, j]
            x = x[~np.isnan(x)]
            if col.kind == "numeric" and len(x):
                qs = np.linspace(0, 1, self.bins + 1)[1:-1]
                self.edges_.append(np.unique(np.quantile(x, qs)))
            else:
                self.edges_.append(np.array([]))
        values = self._values(matrix)
        won, lost = int(y.sum()), int(len(y) - y.sum())
        self.prior_won_ = won / (won + lost)
        self.tables_: list[dict[float, tuple[float, float]]] = []
        self.totals_: list[tuple[float, float]] = []
        for j in range(values.shape[1]):
            col = values[:, j]
            present = ~np.isnan(col)
            table_j: dict[float, tuple[float, float]] = {}
            keys, counts = np.unique(col[present], return_counts=True)
            for key, count in zip(keys, counts, strict=True):
                if count < self.min_support:
                    continue
                rows = col == key
                table_j[float(key)] = (
                    self.smoothing + float(y[rows].sum()),
                    self.smoothing + float((1 - y[rows]).sum()),
                )
            self.tables_.append(table_j)
            self.totals_.append(
                (sum(w for w, _ in table_j.values()), sum(lo for _, lo in table_j.values()))
            )
        return self

    def predict_proba(self, table: Table) -> np.ndarray:
        values = self._values(self.encoder_.transform(table))
        log_won = np.full(len(values), np.log(self.prior_won_))
        log_lost = np.full(len(values), np.log(1.0 - self.prior_won_))
        for j, table_j in enumerate(self.tables_):
            if not table_j:
                continue
            total_won, total_lost = self.totals_[j]
            for i, v in enumerate(values[:, j]):
                row = table_j.get(float(v)) if not np.isnan(v) else None
                if row is not None:
                    log_won[i] += np.log(row[0] / total_won)
                    log_lost[i] += np.log(row[1] / total_lost)
        p = 1.0 / (1.0 + np.exp(np.clip(log_lost - log_won, -500, 500)))
        p = np.clip(p, self.clip, 1.0 - self.clip)
        return np.column_stack([1.0 - p, p])


class LogisticOneHot:
    """Logistic regression on one-hot categories (missing and rare as their own
    columns) and standardised numbers (missing imputed by the median, with a
    missing-indicator column)."""

    def __init__(
        self, *, C: float = 1.0, min_count: int = 10, missing_values: Sequence[str] = ()
    ) -> None:
        self.C = C
        self.min_count = min_count
        self.missing_values = tuple(missing_values)

    def _design(self, table: Table) -> np.ndarray:
        matrix = self.encoder_.transform(table)
        parts = []
        for j, col in enumerate(self.encoder_.columns_):
            x = matrix[:, j]
            if col.kind == "categorical":
                width = len(col.categories) + 2
                onehot = np.zeros((len(x), width))
                onehot[np.arange(len(x)), x.astype(int)] = 1.0
                parts.append(onehot)
            else:
                missing = np.isnan(x)
                filled = np.where(missing, self.medians_[j], x)
                parts.append(((filled - self.medians_[j]) / self.scales_[j])[:, None])
                parts.append(missing[:, None].astype(float))
        return np.hstack(parts) if parts else np.zeros((len(matrix), 0))

    def fit(self, table: Table, y: Sequence[Any]) -> LogisticOneHot:
        y = as_outcome(y)
        self.encoder_ = TableEncoder(
            min_count=self.min_count, missing_values=self.missing_values
        ).fit(table)
        matrix = self.encoder_.transform(table)
        self.medians_, self.scales_ = [], []
        for j in range(matrix.shape[1]):
            x = matrix[:, j][~np.isnan(matrix[:, j])]
            self.medians_.append(float(np.median(x)) if len(x) else 0.0)
            self.scales_.append(float(np.std(x)) or 1.0 if len(x) else 1.0)
        self.model_ = LogisticRegression(C=self.C, max_iter=5000).fit(self._design(table), y)
        return self

    def predict_proba(self, table: Table) -> np.ndarray:
        return self.model_.predict_proba(self._design(table))

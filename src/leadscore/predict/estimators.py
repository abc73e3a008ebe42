"""The estimator contract and leadscore's gradient-boosted lead model.

Every estimator in :mod:`leadscore.predict` follows one contract (checked by a
shared test on each of them):

* ``fit(table, y)`` learns from a table (see :mod:`leadscore.predict.table`)
  and a 0/1 outcome, and returns ``self``;
* what it learned lives in attributes whose names end in ``_``; the
  constructor only stores its named parameters;
* ``predict_proba(table)`` returns an ``(n, 2)`` array of probabilities
  (not converted, converted) and changes nothing;
* a fitted estimator pickles, and accepts categories it never saw and columns
  that are absent (treated as missing).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.model_selection import train_test_split

from ..errors import UsageError
from .table import Table, TableEncoder


def as_outcome(y: Sequence[Any]) -> np.ndarray:
    """The outcome as a 0/1 integer array."""
    arr = np.asarray(y)
    out = arr.astype(np.int64)
    if not np.isin(out, (0, 1)).all():
        raise UsageError("the outcome must be 0 or 1 for every row")
    return out


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


def fit_platt(score: np.ndarray, y: np.ndarray, iterations: int = 50) -> tuple[float, float]:
    """Platt scaling: ``a, b`` so that ``sigmoid(a * score + b)`` is calibrated.

    Newton's method on the log-loss with Platt's smoothed targets, so a
    separable validation set does not push the slope to infinity.
    """
    raw = np.asarray(score, dtype=float)
    centre, spread = float(raw.mean()), float(raw.std()) or 1.0
    s = (raw - centre) / spread  # Newton steps behave on a standard scale
    y = np.asarray(y, dtype=float)
    n_pos, n_neg = y.sum(), len(y) - y.sum()
    t = np.where(y == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    a, b = 0.0, 0.0
    for _ in range(iterations):
        p = sigmoid(a * s + b)
        w = np.maximum(p * (1 - p), 1e-12)
        g = np.array([np.sum((p - t) * s), np.sum(p - t)])
        h = np.array([[np.sum(w * s * s) + 1e-9, np.sum(w * s)], [np.sum(w * s), np.sum(w) + 1e-9]])
        step = np.linalg.solve(h, g)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-10:
            break
    return float(a / spread), float(b - a * centre / spread)


#: with fewer features than this, every tree sees all of them (``feature_fraction`` off):
#: sampling 80% of 3 features leaves each tree 2, a third of the signal out (on the Olist
#: funnel's 3 columns it cost 0.006 AUC against a tuned LightGBM)
FEW_FEATURES = 10


class LeadModel:
    """LightGBM with early stopping on an internal validation split, Platt-calibrated.

    Defaults are meant to work without tuning: trees of at most ``num_leaves``
    leaves, each on ``feature_fraction`` of the features (all of them when there
    are fewer than :data:`FEW_FEATURES`), as many rounds as the validation split says help
    (``early_stopping_rounds`` without improvement stop it), and a Platt
    calibration fitted on that split. With ``refit`` the trees are then grown
    again on every row, for the number of rounds found scaled up to the larger
    data (off by default: on X Education it changed the AUC by less than
    0.001 and doubles the training time).
    """

    def __init__(
        self,
        *,
        learning_rate: float = 0.1,
        num_leaves: int = 15,
        min_child_samples: int = 20,
        feature_fraction: float = 0.8,
        lambda_l2: float = 1.0,
        max_rounds: int = 3000,
        early_stopping_rounds: int = 50,
        validation_share: float = 0.15,
        refit: bool = False,
        min_count: int = 10,
        missing_values: Sequence[str] = (),
        seed: int = 0,
        n_jobs: int = 1,  # LightGBM threads; 0: every core
    ) -> None:
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.feature_fraction = feature_fraction
        self.lambda_l2 = lambda_l2
        self.max_rounds = max_rounds
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_share = validation_share
        self.refit = refit
        self.min_count = min_count
        self.missing_values = tuple(missing_values)
        self.seed = seed
        self.n_jobs = n_jobs

    def _params(self, n_features: int | None = None) -> dict[str, Any]:
        few = n_features is not None and n_features < FEW_FEATURES
        return {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "feature_fraction": 1.0 if few else self.feature_fraction,
            "feature_fraction_seed": self.seed,
            "lambda_l2": self.lambda_l2,
            "cat_smooth": 10.0,
            "min_data_per_group": 20,
            "seed": self.seed,
            "deterministic": True,
            "num_threads": self.n_jobs,
            "verbosity": -1,
        }

    def _dataset(self, matrix: np.ndarray, y: np.ndarray) -> lgb.Dataset:
        return lgb.Dataset(
            matrix,
            label=y,
            feature_name=[f"f{j}" for j in range(matrix.shape[1])],
            categorical_feature=self.encoder_.categorical_indices() or "auto",
            free_raw_data=False,
            params={"verbosity": -1, "min_data_in_bin": 3},
        )

    def fit(self, table: Table, y: Sequence[Any]) -> LeadModel:
        y = as_outcome(y)
        self.encoder_ = TableEncoder(min_count=self.min_count, missing_values=self.missing_values)
        self.encoder_.fit(table)
        self.feature_names_ = list(self.encoder_.feature_names_)
        matrix = self.encoder_.transform(table)
        index = np.arange(len(y))
        fit_idx, val_idx = train_test_split(
            index, test_size=self.validation_share, stratify=y, random_state=self.seed
        )
        params = self._params(matrix.shape[1])
        self.feature_fraction_ = params["feature_fraction"]
        first = lgb.train(
            params,
            self._dataset(matrix[fit_idx], y[fit_idx]),
            num_boost_round=self.max_rounds,
            valid_sets=[self._dataset(matrix[val_idx], y[val_idx])],
            callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)],
        )
        self.best_rounds_ = max(1, int(first.best_iteration or first.current_iteration()))
        raw_val = first.predict(matrix[val_idx], num_iteration=self.best_rounds_, raw_score=True)
        if self.refit:
            rounds = max(1, round(self.best_rounds_ / (1.0 - self.validation_share)))
            self.booster_ = lgb.train(params, self._dataset(matrix, y), num_boost_round=rounds)
            # the refitted trees add up to a larger raw score; rescale the validation
            # scores of the first model to the refitted model's spread before calibrating
            scale = np.std(self.booster_.predict(matrix, raw_score=True)) / max(
                np.std(first.predict(matrix, num_iteration=self.best_rounds_, raw_score=True)),
                1e-12,
            )
            self.calibration_ = fit_platt(raw_val * scale, y[val_idx])
        else:
            self.booster_ = first
            self.booster_.best_iteration = self.best_rounds_
            self.calibration_ = fit_platt(raw_val, y[val_idx])
        self.rounds_ = self.booster_.current_iteration()
        self.validation_rows_ = len(val_idx)
        return self

    def _matrix(self, table: Table) -> np.ndarray:
        return self.encoder_.transform(table)

    def decision_function(self, table: Table) -> np.ndarray:
        """Raw log-odds of the trees, before calibration."""
        matrix = self._matrix(table)
        return self.booster_.predict(matrix, raw_score=True, num_threads=self.n_jobs)

    def predict_proba(self, table: Table) -> np.ndarray:
        a, b = self.calibration_
        p = sigmoid(a * self.decision_function(table) + b)
        return np.column_stack([1.0 - p, p])

    def contributions(self, table: Table) -> np.ndarray:
        """Per-lead contributions of each feature to the raw log-odds (last column: bias).

        Computed by LightGBM (``pred_contrib``, TreeSHAP); each row sums to
        :meth:`decision_function`. Multiplied by the calibration slope they are
        contributions to the calibrated log-odds.
        """
        matrix = self._matrix(table)
        return self.booster_.predict(matrix, pred_contrib=True, num_threads=self.n_jobs)

    def feature_importance(self) -> list[tuple[str, float]]:
        """Total gain of each feature, largest first."""
        gains = self.booster_.feature_importance(importance_type="gain")
        total = gains.sum() or 1.0
        pairs = [(n, float(g / total)) for n, g in zip(self.feature_names_, gains, strict=True)]
        return sorted(pairs, key=lambda p: (-p[1], p[0]))

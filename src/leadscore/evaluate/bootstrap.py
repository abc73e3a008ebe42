"""Bootstrap confidence intervals for AUC and lift, paired across variants.

Each resample draws ``n`` contacts with replacement (as per-contact counts, so no
re-sorting is needed) and the *same* draw is used for every variant: the
interval of the difference B − A then reflects that both were measured on the
same contacts. Intervals are percentile intervals; the seed makes them
reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .metrics import Ranked, roc_auc, top_share

DEFAULT_RESAMPLES = 200
DEFAULT_SEED = 0
DEFAULT_LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float]:
        return {"estimate": self.estimate, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class Difference(Interval):
    """B − A, with the share of resamples in which B was ahead."""

    b_ahead: float = float("nan")

    def to_dict(self) -> dict[str, float]:
        return {**super().to_dict(), "share_of_resamples_b_ahead": self.b_ahead}


def _interval(estimate: float, draws: np.ndarray, level: float) -> Interval:
    draws = draws[~np.isnan(draws)]
    if len(draws) == 0:
        return Interval(estimate, float("nan"), float("nan"))
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return Interval(estimate, float(low), float(high))


@dataclass(frozen=True)
class BootstrapResult:
    resamples: int
    seed: int
    level: float
    share: float  # the top share whose lift is bootstrapped
    auc: dict[str, Interval]
    lift: dict[str, Interval]
    auc_diff: dict[str, Difference]  # variant → variant − baseline
    lift_diff: dict[str, Difference]
    baseline: str


def bootstrap(
    ranked: dict[str, Ranked],
    *,
    share: float = 0.1,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    level: float = DEFAULT_LEVEL,
) -> BootstrapResult:
    """Intervals for each variant's AUC and lift at ``share``, and for each
    variant's difference from the first one (the baseline)."""
    names = list(ranked)
    n = next(iter(ranked.values())).n
    rng = np.random.default_rng(seed)
    auc_draws = {k: np.empty(resamples) for k in names}
    lift_draws = {k: np.empty(resamples) for k in names}
    for i in range(resamples):
        weights = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
        for name in names:
            pos, neg = ranked[name].counts(weights)
            auc_draws[name][i] = roc_auc(pos, neg)
            lift_draws[name][i] = top_share(pos, neg, share).lift if pos.sum() > 0 else np.nan
    point_auc, point_lift = {}, {}
    for name in names:
        pos, neg = ranked[name].counts()
        point_auc[name] = roc_auc(pos, neg)
        point_lift[name] = top_share(pos, neg, share).lift
    base = names[0]
    auc_diff, lift_diff = {}, {}
    for name in names[1:]:
        auc_diff[name] = _difference(
            point_auc[name] - point_auc[base], auc_draws[name] - auc_draws[base], level
        )
        lift_diff[name] = _difference(
            point_lift[name] - point_lift[base], lift_draws[name] - lift_draws[base], level
        )
    return BootstrapResult(
        resamples=resamples,
        seed=seed,
        level=level,
        share=share,
        auc={k: _interval(point_auc[k], auc_draws[k], level) for k in names},
        lift={k: _interval(point_lift[k], lift_draws[k], level) for k in names},
        auc_diff=auc_diff,
        lift_diff=lift_diff,
        baseline=base,
    )


def _difference(estimate: float, draws: np.ndarray, level: float) -> Difference:
    iv = _interval(estimate, draws, level)
    valid = draws[~np.isnan(draws)]
    ahead = float((valid > 0).mean()) if len(valid) else float("nan")
    return Difference(iv.estimate, iv.low, iv.high, ahead)

"""Ranking metrics of a score against a binary outcome, written with NumPy.

Every metric starts from the same summary: the distinct scores in descending
order with the (possibly weighted) number of positives and negatives at each.
Ties are therefore always handled as a block, the way scikit-learn does:

* ROC AUC gives a tied positive/negative pair half a point (Mann-Whitney);
* average precision takes one threshold per distinct score:
  ``AP = Σ (R_k − R_{k−1}) · P_k``;
* the "top k %" of contacts shares a boundary tie pro rata: when the cut falls
  inside a block of equal scores, that block counts with the fraction of it that
  fits, at the block's conversion rate. A score that gives everyone the same
  value thus has a lift of exactly 1.

Weights (used by the bootstrap) multiply each contact's count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Ranked:
    """Distinct scores (descending) and, per contact, the index of its block."""

    values: np.ndarray  # distinct scores, highest first
    block: np.ndarray  # per contact: index into ``values``
    y: np.ndarray  # per contact: 1.0 converted, 0.0 not
    key: np.ndarray  # per contact: 2 × block + outcome, to count both in one pass

    @property
    def n(self) -> int:
        return len(self.y)

    def counts(self, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Positives and negatives per block (weighted when ``weights`` is given)."""
        size = len(self.values)
        both = np.bincount(self.key, weights=weights, minlength=2 * size).astype(float)
        return both[1::2], both[0::2]


def rank(scores: np.ndarray, y: np.ndarray) -> Ranked:
    """Group contacts by distinct score, highest first."""
    scores = np.asarray(scores, dtype=float)
    neg_values, block = np.unique(-scores, return_inverse=True)
    block = block.ravel()
    y = np.asarray(y, dtype=float)
    return Ranked(values=-neg_values, block=block, y=y, key=block * 2 + (y > 0))


def roc_auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """Probability that a random converter outscores a random non-converter (ties: ½)."""
    p_total, n_total = pos.sum(), neg.sum()
    if p_total == 0 or n_total == 0:
        return float("nan")
    below = n_total - np.cumsum(neg)  # negatives strictly below each block
    return float(np.sum(pos * (below + 0.5 * neg)) / (p_total * n_total))


def average_precision(pos: np.ndarray, neg: np.ndarray) -> float:
    """Area under the precision-recall steps, one step per distinct score."""
    p_total = pos.sum()
    if p_total == 0:
        return float("nan")
    tp, fp = np.cumsum(pos), np.cumsum(neg)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
    recall = tp / p_total
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


@dataclass(frozen=True)
class TopShare:
    share: float  # e.g. 0.1 for the top 10 %
    contacts: float  # how many contacts that is (fractional with ties shared)
    conversions: float
    conversion_rate: float
    lift: float  # conversion rate in the top share ÷ overall rate
    capture: float  # share of all conversions found in the top share


def top_share(pos: np.ndarray, neg: np.ndarray, share: float) -> TopShare:
    """Conversion, lift and capture among the top ``share`` of contacts."""
    size = pos + neg
    total, p_total = size.sum(), pos.sum()
    want = share * total
    cum = np.cumsum(size)
    cum_pos = np.cumsum(pos)
    i = int(np.searchsorted(cum, want, side="left"))
    i = min(i, len(size) - 1)
    before = cum[i - 1] if i > 0 else 0.0
    before_pos = cum_pos[i - 1] if i > 0 else 0.0
    frac = (want - before) / size[i] if size[i] > 0 else 0.0
    conversions = before_pos + frac * pos[i]
    rate = conversions / want if want > 0 else float("nan")
    base = p_total / total if total > 0 else float("nan")
    return TopShare(
        share=share,
        contacts=float(want),
        conversions=float(conversions),
        conversion_rate=float(rate),
        lift=float(rate / base) if base > 0 else float("nan"),
        capture=float(conversions / p_total) if p_total > 0 else float("nan"),
    )


@dataclass(frozen=True)
class AtThreshold:
    """What happens when every contact scoring at least ``threshold`` is an MQL."""

    threshold: float | None
    volume: int
    volume_share: float
    true_positives: int
    precision: float
    recall: float
    f1: float


def _at_block(pos, neg, k: int | None, values) -> AtThreshold:
    total, p_total = float((pos + neg).sum()), float(pos.sum())
    if k is None or k < 0:
        return AtThreshold(None, 0, 0.0, 0, float("nan"), 0.0, 0.0)
    tp, fp = float(pos[: k + 1].sum()), float(neg[: k + 1].sum())
    return _confusion(float(values[k]), tp, fp, p_total, total)


def _confusion(threshold, tp: float, fp: float, p_total: float, total: float) -> AtThreshold:
    volume = tp + fp
    precision = tp / volume if volume > 0 else float("nan")
    recall = tp / p_total if p_total > 0 else float("nan")
    f1 = 2 * tp / (volume + p_total) if volume + p_total > 0 else 0.0
    return AtThreshold(
        threshold=threshold,
        volume=round(volume),
        volume_share=volume / total if total > 0 else 0.0,
        true_positives=round(tp),
        precision=precision,
        recall=recall,
        f1=f1,
    )


def confusion(predicted: np.ndarray, y: np.ndarray, threshold: float | None = None) -> AtThreshold:
    """Precision, recall and F1 of a yes/no prediction (e.g. "is in MQL or above")."""
    predicted = np.asarray(predicted, dtype=bool)
    y = np.asarray(y, dtype=float)
    tp = float(y[predicted].sum())
    fp = float(predicted.sum() - tp)
    return _confusion(threshold, tp, fp, float(y.sum()), float(len(y)))


def best_f1(r: Ranked) -> AtThreshold:
    """The score threshold (``total ≥ t``) that maximises F1; ties: the higher t."""
    pos, neg = r.counts()
    tp, vol = np.cumsum(pos), np.cumsum(pos + neg)
    f1 = 2 * tp / (vol + pos.sum())
    return _at_block(pos, neg, int(np.argmax(f1)), r.values)


def for_volume(r: Ranked, volume: int) -> AtThreshold:
    """The lowest threshold whose MQL volume is at most ``volume`` contacts."""
    pos, neg = r.counts()
    vol = np.cumsum(pos + neg)
    k = int(np.searchsorted(vol, volume, side="right")) - 1
    return _at_block(pos, neg, k if k >= 0 else None, r.values)


def for_precision(r: Ranked, precision: float) -> AtThreshold:
    """The lowest threshold (largest volume) whose precision is at least ``precision``."""
    pos, neg = r.counts()
    tp, vol = np.cumsum(pos), np.cumsum(pos + neg)
    ok = np.flatnonzero(tp / vol >= precision - 1e-12)
    return _at_block(pos, neg, int(ok[-1]) if len(ok) else None, r.values)


@dataclass(frozen=True)
class Bin:
    label: str
    low: float
    high: float
    contacts: int
    conversions: int
    conversion_rate: float
    mean_score: float


def by_band(scores: np.ndarray, y: np.ndarray, low: float, high: float, bands: int) -> list[Bin]:
    """Conversion per fixed-width score band over the model's scale (last band closed)."""
    edges = np.linspace(low, high, bands + 1)
    idx = np.clip(np.searchsorted(edges, scores, side="right") - 1, 0, bands - 1)
    out = []
    for b in range(bands):
        mask = idx == b
        out.append(_bin(f"{edges[b]:g}–{edges[b + 1]:g}", edges[b], edges[b + 1], scores, y, mask))
    return out


def by_quantile(r: Ranked, scores: np.ndarray, bins: int) -> list[Bin]:
    """About equal-sized bins of contacts by score (a block of ties stays in one bin),
    lowest scores first: the points of a calibration curve."""
    pos, neg = r.counts()
    size = pos + neg
    mid = (np.cumsum(size) - size / 2) / size.sum()  # centre of each block, from the top
    block_bin = np.minimum((mid * bins).astype(int), bins - 1)
    contact_bin = block_bin[r.block]
    out = []
    for b in range(bins - 1, -1, -1):
        mask = contact_bin == b
        if mask.any():
            lo, hi = float(scores[mask].min()), float(scores[mask].max())
            label = f"{lo:g}" if lo == hi else f"{lo:g}–{hi:g}"
            out.append(_bin(label, lo, hi, scores, r.y, mask))
    return out


def by_label(labels: list, y: np.ndarray, order: list) -> list[Bin]:
    """Conversion per label (grade or stage), in the given order then any others."""
    labels_arr = np.array(["" if v is None else str(v) for v in labels], dtype=object)
    seen = [str(v) for v in order]
    seen += sorted({str(v) for v in labels_arr} - set(seen))
    out = []
    for label in seen:
        mask = labels_arr == label
        if mask.any():
            out.append(_bin(label or "(none)", float("nan"), float("nan"), None, y, mask))
    return out


def _bin(label, low, high, scores, y, mask) -> Bin:
    n = int(mask.sum())
    conv = int(y[mask].sum())
    return Bin(
        label=label,
        low=float(low),
        high=float(high),
        contacts=n,
        conversions=conv,
        conversion_rate=conv / n if n else float("nan"),
        mean_score=float(scores[mask].mean()) if (scores is not None and n) else float("nan"),
    )


def gain_curve(r: Ranked, points: int = 101) -> tuple[np.ndarray, np.ndarray]:
    """Share of conversions captured (y) against share of contacts taken from the top (x),
    boundary ties shared pro rata as in :func:`top_share`."""
    pos, neg = r.counts()
    size = pos + neg
    cum, cum_pos = np.cumsum(size), np.cumsum(pos)
    xs = np.linspace(0, 1, points)
    want = xs * cum[-1]
    i = np.minimum(np.searchsorted(cum, want, side="left"), len(size) - 1)
    before = np.where(i > 0, cum[i - 1], 0.0)
    before_pos = np.where(i > 0, cum_pos[i - 1], 0.0)
    frac = np.where(size[i] > 0, (want - before) / np.where(size[i] > 0, size[i], 1), 0.0)
    ys = (before_pos + frac * pos[i]) / cum_pos[-1]
    ys[0] = 0.0
    return xs, ys

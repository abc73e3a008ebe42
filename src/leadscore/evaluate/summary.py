"""The side-by-side metrics table as text cells, shared by the terminal and the report."""

from __future__ import annotations

import math

from .backtest import Backtest
from .metrics import AtThreshold


def pct(x: float | None, digits: int = 1) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}%}"


def num(x: float | None, digits: int = 3) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def ci(iv, digits: int = 3) -> str:
    return f"{num(iv.estimate, digits)} [{num(iv.low, digits)}, {num(iv.high, digits)}]"


def at(a: AtThreshold | None) -> str:
    if a is None or (a.threshold is None and a.volume == 0):
        return "-"
    head = f"≥ {a.threshold:g}: " if a.threshold is not None else ""
    return (
        f"{head}{a.volume} ({pct(a.volume_share)}), P {pct(a.precision)}, "
        f"R {pct(a.recall)}, F1 {num(a.f1, 2)}"
    )


def metric_rows(bt: Backtest) -> list[tuple[str, list[str]]]:
    """(label, one cell per model) for every headline metric."""
    rows: list[tuple[str, list[str]]] = []
    vs = bt.variants
    b = bt.bootstrap
    if b is not None:
        rows.append((f"ROC AUC [{b.level:.0%} CI]", [ci(b.auc[v.name]) for v in vs]))
        rows.append(
            (
                f"AUC − {b.baseline} (share of resamples ahead)",
                [""]
                + [f"{ci(b.auc_diff[v.name])} ({b.auc_diff[v.name].b_ahead:.0%})" for v in vs[1:]],
            )
        )
    else:
        rows.append(("ROC AUC", [num(v.auc) for v in vs]))
    rows.append(("average precision", [num(v.average_precision) for v in vs]))
    for i, share in enumerate(bt.options.top_shares):
        rows.append(
            (
                f"top {share:.0%}: lift (capture)",
                [f"{v.top[i].lift:.2f} ({pct(v.top[i].capture)})" for v in vs],
            )
        )
    if b is not None:
        rows.append(
            (f"lift top {b.share:.0%} [{b.level:.0%} CI]", [ci(b.lift[v.name], 2) for v in vs])
        )
        rows.append((f"lift − {b.baseline}", [""] + [ci(b.lift_diff[v.name], 2) for v in vs[1:]]))
    rows.append(
        (
            f"{bt.options.stage} and above: volume, precision, recall",
            [at(v.mql) if v.mql else "no such stage" for v in vs],
        )
    )
    rows.append(("best F1 threshold", [at(v.best_f1) for v in vs]))
    if bt.options.target_volume:
        rows.append(
            (f"threshold for ≤ {bt.options.target_volume} MQLs", [at(v.target_volume) for v in vs])
        )
    if bt.options.target_precision:
        rows.append(
            (
                f"threshold for precision ≥ {bt.options.target_precision:.0%}",
                [at(v.target_precision) for v in vs],
            )
        )
    return rows


def headline(bt: Backtest) -> str:
    pop = bt.population
    o = bt.outcome
    when = (
        f"scored just before {o.time_column!r} where known, else as of "
        if o.time_column
        else "scored as of "
    )
    return (
        f"{len(bt.variants)} model(s) on {len(pop.ids)} contacts, {int(pop.y.sum())} converted "
        f"({pct(bt.base_rate)}); outcome {o.column!r}, {when}{o.cutoff.isoformat()} "
        f"({o.cutoff_source})"
    )

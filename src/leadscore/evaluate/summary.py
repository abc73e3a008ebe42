"""The side-by-side metrics table as text cells, shared by the terminal and the report."""

from __future__ import annotations

import math

from .backtest import Backtest
from .bootstrap import Interval
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


# The report in a marketer's words: read first, the statistics one click below.
# Figures are rounded for people; the confidence word comes from the bootstrap
# interval of the lift difference at the same top share. Both models rank the
# same contacts, so their top shares hold the same number of contacts, and lift
# B − A has the sign of "converters found by B − converters found by A".


def _whole(x: float) -> str:
    return f"{round(x):,}"


def converters_sentence(name: str, share: float, found: float, converters: int) -> str:
    """How many of the converters land in ``name``'s top ``share`` of contacts."""
    if converters <= 0:
        return (
            "No contact converted in this history, so the backtest cannot yet say "
            "how well the model finds converters."
        )
    return (
        f"{name} puts {_whole(found)} of the {converters:,} converters "
        f"({found / converters:.0%}) in its top {share:.0%} of contacts."
    )


def confidence_word(diff: Interval | None) -> str | None:
    """'confident' when the interval of the difference excludes zero, else 'not yet clear';
    None without an interval."""
    if diff is None or math.isnan(diff.low) or math.isnan(diff.high):
        return None
    return "confident" if diff.low > 0 or diff.high < 0 else "not yet clear"


def comparison_sentence(
    a: str, b: str, share: float, found_a: float, found_b: float, diff: Interval | None
) -> str:
    """'b finds N% more (or fewer) converters in its top share than a', with a confidence word."""
    top = f"in its top {share:.0%}"
    if found_a <= 0 and found_b <= 0:
        words = f"Neither {b} nor {a} finds a converter {top}"
    elif found_a <= 0:
        words = f"{b} finds {_whole(found_b)} converter(s) {top}, {a} none"
    else:
        change = (found_b - found_a) / found_a
        if round(change * 100) == 0:
            words = f"{b} finds {'as many' if found_b == found_a else 'about as many'} "
            words += f"converters {top} as {a}"
        else:
            more = "more" if change > 0 else "fewer"
            words = f"{b} finds {abs(change):.0%} {more} converters {top} than {a}"
    word = confidence_word(diff)
    if word == "confident":
        return f"{words} — confident: the difference holds across the resamples."
    if word == "not yet clear":
        return f"{words} — not yet clear: more history could tip it either way."
    return f"{words}."


def plain_words(bt: Backtest) -> list[str]:
    """One or two sentences of the report's own figures, for the top of the report."""
    b = bt.bootstrap
    shares = list(bt.options.top_shares)
    share = b.share if b is not None else bt.options.lift_share
    if share not in shares:
        share = min(shares, key=lambda s: abs(s - 0.1))
    i = shares.index(share)
    vs = bt.variants
    converters = int(bt.population.y.sum())
    last = vs[-1]
    sentences = [converters_sentence(last.name, share, last.top[i].conversions, converters)]
    if len(vs) > 1 and converters > 0:
        first = vs[0]
        diff = b.lift_diff.get(last.name) if b is not None and b.share == share else None
        sentences.append(
            comparison_sentence(
                first.name,
                last.name,
                share,
                first.top[i].conversions,
                last.top[i].conversions,
                diff,
            )
        )
    return sentences

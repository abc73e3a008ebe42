"""The backtest's charts, drawn with matplotlib (no display needed).

Each function takes a :class:`~leadscore.evaluate.backtest.Backtest` and returns
a figure; :func:`render` turns every chart into SVG text (for the HTML report)
or PNG files (for documentation).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .backtest import Backtest

PALETTE = ("#2563eb", "#ea580c", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#ca8a04")
CONVERTED, OTHERS = "#16a34a", "#94a3b8"
FEW = 30  # bands with fewer contacts than this are drawn pale
WIDTH = 7.5  # inches
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e5e7eb",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "svg.fonttype": "none",
    "svg.hashsalt": "leadscore",
}


def _color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def gain(bt: Backtest) -> Figure:
    """Cumulative share of conversions found when calling the top x % first."""
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(WIDTH, 3.2))
    for i, v in enumerate(bt.variants):
        xs, ys = np.array(v.gain[0]), np.array(v.gain[1])
        ax.plot(xs * 100, ys * 100, color=_color(i), label=f"{v.name} (AUC {v.auc:.3f})")
        keep = xs >= 0.02
        ax2.plot(xs[keep] * 100, ys[keep] / xs[keep], color=_color(i), label=v.name)
    ax.plot([0, 100], [0, 100], color="#9ca3af", linestyle="--", linewidth=1, label="random")
    ax.set(
        xlabel="contacts called, top % by score",
        ylabel="% of conversions found",
        title="Gain",
        xlim=(0, 100),
        ylim=(0, 101),
    )
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax2.axhline(1, color="#9ca3af", linestyle="--", linewidth=1)
    ax2.set(
        xlabel="contacts called, top % by score",
        ylabel="lift (× base rate)",
        title="Lift",
        xlim=(0, 100),
    )
    ax2.set_ylim(bottom=0)
    fig.tight_layout()
    return fig


def distribution(bt: Backtest) -> Figure:
    """Score histograms of converters and others, one panel per model."""
    n = len(bt.variants)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(WIDTH, 2.5 * rows), squeeze=False)
    y = bt.population.y.astype(bool)
    for k, v in enumerate(bt.variants):
        ax = axes[k // cols][k % cols]
        model = bt.population.scored[v.name].model
        total = bt.population.scored[v.name].total
        edges = np.linspace(model.scale.min, model.scale.max, 21)
        ax.hist(total[~y], bins=edges, color=OTHERS, alpha=0.6, label="did not convert")
        ax.hist(
            total[y], bins=edges, color=CONVERTED, histtype="step", linewidth=1.6, label="converted"
        )
        ax.set(title=v.name, xlabel="score")
        if k % cols == 0:
            ax.set_ylabel("contacts")
        if k == 0:
            ax.legend(fontsize=7, frameon=False)
    for k in range(n, rows * cols):
        axes[k // cols][k % cols].axis("off")
    fig.suptitle("Score distribution by outcome", fontsize=10)
    fig.tight_layout()
    return fig


def bands(bt: Backtest) -> Figure:
    """Conversion rate per score band, bars grouped by model."""
    fig, ax = plt.subplots(figsize=(WIDTH, 3.4))
    n = len(bt.variants)
    width = 0.8 / n
    labels = [b.label for b in bt.variants[0].bands]
    if any([b.label for b in v.bands] != labels for v in bt.variants):
        k = len(labels)  # different scales: label bands by their share of the scale
        labels = [f"{100 * j // k}–{100 * (j + 1) // k}%" for j in range(k)]
    x = np.arange(len(labels))
    for i, v in enumerate(bt.variants):
        rates = [b.conversion_rate * 100 if b.contacts else 0 for b in v.bands]
        bars = ax.bar(x + (i - (n - 1) / 2) * width, rates, width, color=_color(i), label=v.name)
        for bar, b in zip(bars, v.bands, strict=True):
            bar.set_alpha(1.0 if b.contacts >= FEW else 0.3)
    ax.axhline(
        bt.base_rate * 100,
        color="#6b7280",
        linestyle="--",
        linewidth=1,
        label=f"overall {bt.base_rate:.1%}",
    )
    ax.set_xticks(x, labels)
    ax.set(xlabel=f"score band (pale: fewer than {FEW} contacts)", ylabel="% converted")
    ax.set_ylim(0, 105)
    ax.set_title("Conversion by score band", pad=12 + 12 * ((n + 3) // 3))
    ax.legend(
        fontsize=8,
        frameon=False,
        ncol=min(n + 1, 3),
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
    )
    fig.tight_layout()
    return fig


def calibration(bt: Backtest) -> Figure:
    """Mean score of about equal-sized groups of contacts against their conversion."""
    fig, ax = plt.subplots(figsize=(WIDTH / 2 + 0.5, 3.0))
    for i, v in enumerate(bt.variants):
        xs = [b.mean_score for b in v.calibration]
        ys = [b.conversion_rate * 100 for b in v.calibration]
        ax.plot(xs, ys, marker="o", markersize=3, color=_color(i), label=v.name)
    ax.set(
        xlabel="mean score of the group",
        ylabel="% converted",
        title="Calibration (groups of ~10% of contacts)",
        ylim=(0, 105),
    )
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def intervals(bt: Backtest) -> Figure | None:
    """AUC and lift with their bootstrap intervals."""
    b = bt.bootstrap
    if b is None:
        return None
    names = [v.name for v in bt.variants]
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 0.4 * len(names) + 1.3))
    panels = ((axes[0], b.auc, "ROC AUC"), (axes[1], b.lift, f"lift in the top {b.share:.0%}"))
    for ax, data, title in panels:
        for i, name in enumerate(names):
            iv = data[name]
            ax.errorbar(
                iv.estimate,
                i,
                xerr=[[iv.estimate - iv.low], [iv.high - iv.estimate]],
                fmt="o",
                color=_color(i),
                capsize=3,
            )
        ax.set_yticks(range(len(names)), names)
        ax.set_ylim(len(names) - 0.5, -0.5)
        ax.set_title(title, fontsize=9)
        ax.grid(axis="y", visible=False)
    axes[1].set_yticklabels([])
    fig.suptitle(
        f"{b.level:.0%} bootstrap intervals ({b.resamples} resamples, seed {b.seed})", fontsize=9
    )
    fig.tight_layout()
    return fig


def rules(bt: Backtest) -> Figure | None:
    """Each rule's effect on AUC (AUC with it − AUC without it), per model."""
    withrules = [v for v in bt.variants if v.rules]
    if not withrules:
        return None
    heights = [max(1.2, 0.22 * len(v.rules) + 0.7) for v in withrules]
    fig, axes = plt.subplots(
        len(withrules),
        1,
        figsize=(WIDTH, sum(heights)),
        squeeze=False,
        gridspec_kw={"height_ratios": heights},
    )
    for ax, v in zip(axes[:, 0], withrules, strict=True):
        effects = [r.auc_effect for r in v.rules]
        colors = [
            "#16a34a" if e > 0.0005 else "#dc2626" if e < -0.001 else "#9ca3af" for e in effects
        ]
        y = np.arange(len(v.rules))
        ax.barh(y, effects, color=colors)
        ax.set_yticks(y, [r.rule for r in v.rules], fontsize=8)
        ax.invert_yaxis()
        ax.axvline(0, color="#374151", linewidth=0.8)
        ax.set_title(f"{v.name}: AUC lost when the rule is removed", fontsize=9, loc="left")
        ax.grid(axis="y", visible=False)
    axes[-1, 0].set_xlabel("AUC effect (green helps, red hurts, grey does nothing)")
    fig.tight_layout()
    return fig


CHARTS: dict[str, Callable[[Backtest], Figure | None]] = {
    "gain": gain,
    "intervals": intervals,
    "distribution": distribution,
    "bands": bands,
    "calibration": calibration,
    "rules": rules,
}


def render_svg(bt: Backtest) -> dict[str, str]:
    """Every chart as SVG text, by name."""
    out = {}
    with plt.rc_context(STYLE):
        for name, draw in CHARTS.items():
            fig = draw(bt)
            if fig is None:
                continue
            buf = io.StringIO()
            fig.savefig(buf, format="svg")
            plt.close(fig)
            out[name] = buf.getvalue()
    return out


def render_png(bt: Backtest, folder: Path, prefix: str = "backtest-", dpi: int = 110) -> list[Path]:
    """Every chart as a PNG file ``<prefix><name>.png`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    with plt.rc_context(STYLE):
        for name, draw in CHARTS.items():
            fig = draw(bt)
            if fig is None:
                continue
            path = folder / f"{prefix}{name}.png"
            fig.savefig(path, dpi=dpi, metadata={"Software": None})
            plt.close(fig)
            paths.append(path)
    return paths

"""The model card: what a trained model learned from and how far to trust it."""

from __future__ import annotations

from typing import Any

from .bands import BAND_QUANTILES


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def render_markdown(card: dict[str, Any], bands: dict[str, float]) -> str:
    d, cb, ho = card["data"], card["class_balance"], card["held_out"]
    parts = [
        "# Model card\n",
        f"Trained {card['created_at']} to predict `{d['outcome']}`"
        + (f" (point in time: events before `{d['outcome_time']}`)" if d["point_in_time"] else "")
        + ".\n",
    ]
    if card["warnings"]:
        parts.append("## Warnings\n")
        parts += [f"- {w}" for w in card["warnings"]]
        parts.append("")
    parts += [
        "## Data used\n",
        f"- contacts: `{d['contacts_file']}`, {d['contacts_used']} with a known outcome "
        f"({d['contacts_skipped_no_outcome']} left out: outcome empty)",
        f"- events: `{d['events_file']}`" if d["events_file"] else "- events: none",
        f"- features as of {d['as_of']}: {len(d['property_features'])} from properties, "
        f"{len(d['event_features'])} from events",
    ]
    snaps = d.get("snapshots")
    if snaps and "at_outcome_time" in snaps:
        parts.append(
            f"- snapshots: {snaps['at_outcome_time']} contacts seen just before their outcome "
            f"time, {snaps['at_a_drawn_moment']} without one seen at a moment of their life "
            "drawn like those (matched on how long each was known), "
            f"{snaps['whole_history']} with their whole history"
        )
    elif snaps:
        parts.append("- snapshots: contacts without an outcome time seen at the end of the data")
    if d["left_out"]:
        parts.append("- left out: " + "; ".join(f"`{k}` ({v})" for k, v in d["left_out"].items()))
    parts += [
        "",
        "## Class balance\n",
        _table(
            ["converted", "not converted", "conversion rate"],
            [[cb["converted"], cb["not_converted"], f"{cb['rate']:.1%}"]],
        ),
        "## Held-out performance\n",
        f"Measured on {ho['rows']} contacts ({ho['share']:.0%}, {ho['positives']} converted) "
        "that a model trained on the others never saw; the model kept was then trained on "
        "every contact with the same settings.\n",
        _table(
            ["AUC", "average precision", "lift at 10%", "Brier score"],
            [
                [
                    f"{ho['auc']:.3f}",
                    f"{ho['average_precision']:.3f}",
                    f"{ho['lift_at_10pct']:.2f}",
                    f"{ho['brier']:.4f}",
                ]
            ],
        ),
        "AUC: chance a converted contact scores above one that did not (0.5 = coin toss). "
        "Lift at 10%: how many times the average conversion rate the top tenth converts at. "
        "Brier: mean squared error of the probability (lower is better).\n",
        "## Top features\n",
        _table(
            ["feature", "share of gain"],
            [[f["feature"], f"{f['share_of_gain']:.1%}"] for f in card["top_features"]],
        ),
        "## Leakage screen\n",
        "Each feature alone, as well as it can rank contacts (AUC). A feature near 1.0 is "
        "probably filled in after the outcome.\n",
        _table(
            ["feature", "AUC alone"],
            [[r["feature"], f"{r['auc']:.3f}"] for r in card["leakage_screen"]],
        ),
        "## Priority bands\n",
        _table(
            ["band", "from probability", "training quantile"],
            [[b, f"{bands[b]:.3f}", f"{q:.0%}"] for b, q in BAND_QUANTILES.items()]
            + [["low", "below medium", "-"]],
        ),
        "## Model\n",
        f"{card['model']['kind']}, {card['model']['rounds']} trees.\n",
    ]
    return "\n".join(parts)

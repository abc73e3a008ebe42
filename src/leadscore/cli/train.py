"""``leadscore train``, ``predict``, ``suggest`` and ``retrain``: predictive scoring."""

from __future__ import annotations

import shutil
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import DataError, UsageError
from .common import console, parse_as_of

CONTACTS = typer.Option(..., "--contacts", help="Contacts file (CSV, Parquet or JSON Lines).")
EVENTS = typer.Option(None, "--events", help="Events file (contact_id, type, ts, attributes).")
OUTCOME = typer.Option(..., "--outcome", help="Column holding the known outcome (1/0).")
OUTCOME_TIME = typer.Option(
    None,
    "--outcome-time",
    help="Column with the time of the outcome: events from then on are ignored (point in time).",
)
ID_COLUMN = typer.Option(None, "--id-column", help="Contact id column (default: id or contact_id).")
DROP = typer.Option(None, "--drop", help="Column to leave out (repeat for several).")
MISSING = typer.Option(
    None,
    "--missing-value",
    help="Text that means 'missing', e.g. Select (repeat for several).",
)
AS_OF = typer.Option(
    None, "--as-of", help="Time the event features are computed at (default: latest event)."
)
KEEP = typer.Option(
    None, "--keep", help="Column to use even though the screen would leave it out (repeat)."
)
SNAPSHOTS = typer.Option(
    "matched",
    "--snapshots",
    help="With --outcome-time, where contacts without one are seen: 'matched' (at moments "
    "of their life drawn like the converters') or 'end' (end of the data; biased).",
)


def _options(
    outcome,
    outcome_time,
    id_column,
    drop,
    missing,
    as_of,
    allow_leakage,
    seed,
    threads,
    snapshots,
    keep=(),
):
    from ..predict.training import SNAPSHOTS as MODES
    from ..predict.training import TrainOptions

    if as_of is not None:
        parse_as_of(as_of)
    if snapshots not in MODES:
        raise UsageError(f"--snapshots must be one of {', '.join(MODES)}, got {snapshots!r}")
    return TrainOptions(
        snapshots=snapshots,
        outcome=outcome,
        outcome_time=outcome_time,
        id_column=id_column,
        drop=tuple(drop or ()),
        missing_values=tuple(missing or ()),
        as_of=as_of,
        allow_leakage=allow_leakage,
        seed=seed,
        params={"n_jobs": threads} if threads != 1 else {},
        keep=tuple(keep or ()),
    )


def _print_card(card: dict) -> None:
    ho, cb = card["held_out"], card["class_balance"]
    table = Table(title="Held-out performance", show_header=True)
    for col in ("contacts", "converted", "AUC", "avg precision", "lift@10%", "Brier"):
        table.add_column(col, justify="right")
    table.add_row(
        str(ho["rows"]),
        str(ho["positives"]),
        f"{ho['auc']:.3f}",
        f"{ho['average_precision']:.3f}",
        f"{ho['lift_at_10pct']:.2f}",
        f"{ho['brier']:.4f}",
    )
    console.print(
        f"Trained on {cb['converted']} converted and {cb['not_converted']} not "
        f"converted contacts ({cb['rate']:.1%})."
    )
    console.print(table)
    top = ", ".join(f["feature"] for f in card["top_features"][:5])
    console.print(f"Top features: {escape(top)}")
    for column, reason in card["data"]["left_out"].items():
        if reason != "asked (--drop)":
            console.print(f"Left out {column!r}: {reason}", markup=False)
    for w in card["warnings"]:
        console.print(f"[yellow]Warning:[/] {escape(w)}")


def train_command(
    contacts: Path = CONTACTS,
    events: Path | None = EVENTS,
    outcome: str = OUTCOME,
    outcome_time: str | None = OUTCOME_TIME,
    out: Path = typer.Option(..., "--out", help="Directory to write the model and its card to."),
    id_column: str | None = ID_COLUMN,
    drop: list[str] | None = DROP,
    missing_value: list[str] | None = MISSING,
    as_of: str | None = AS_OF,
    allow_leakage: bool = typer.Option(
        False, "--allow-leakage", help="Train even when a feature looks like the outcome."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the splits and the trees."),
    threads: int = typer.Option(
        1, "--threads", help="LightGBM threads (0: every core; one is often fastest)."
    ),
    snapshots: str = SNAPSHOTS,
    keep: list[str] | None = KEEP,
) -> None:
    """Train a predictive model (LightGBM, calibrated) and write it with its model card."""
    from ..predict.training import train

    options = _options(
        outcome,
        outcome_time,
        id_column,
        drop,
        missing_value,
        as_of,
        allow_leakage,
        seed,
        threads,
        snapshots,
        keep,
    )
    with console.status("Training…"):
        model = train(contacts, events, options)
    model.save(out)
    _print_card(model.card)
    console.print(f"Model written to {out} (card: {out / 'model_card.md'})", markup=False)


def predict_command(
    model: Path = typer.Option(..., "--model", help="Model directory from `leadscore train`."),
    contacts: Path = CONTACTS,
    events: Path | None = EVENTS,
    out: Path = typer.Option(..., "--out", help="Output file: .csv, .parquet or .jsonl."),
    id_column: str | None = ID_COLUMN,
    as_of: str | None = AS_OF,
    reasons: int = typer.Option(
        3, "--reasons", help="Reasons per contact (0: none, much faster on large files)."
    ),
    threads: int = typer.Option(
        1, "--threads", help="LightGBM threads for the reasons (0: every core)."
    ),
) -> None:
    """Predict each contact's probability to convert, 0–100 score, band and top reasons."""
    from ..data.io import output_format, write_rows
    from ..predict.artefact import TrainedModel

    output_format(out)
    if reasons < 0:
        raise UsageError(f"--reasons must be 0 or more, got {reasons}")
    if threads < 0:
        raise UsageError(f"--threads must be 0 (every core) or more, got {threads}")
    trained = TrainedModel.load(model)
    when = parse_as_of(as_of) if as_of else None
    with console.status("Predicting…"):
        from ..data.io import load_inputs

        inputs = load_inputs(contacts, events, id_column=id_column)
        preds = trained.predict_inputs(inputs, when, reasons, threads)
    columns = ["id", "probability", "score", "band"] + [
        f"reason_{i}" for i in range(1, reasons + 1)
    ]
    rows = []
    for p in preds:
        row = {
            "id": p.contact_id,
            "probability": round(p.probability, 6),
            "score": p.score,
            "band": p.band,
        }
        for i in range(reasons):
            row[f"reason_{i + 1}"] = str(p.reasons[i]) if i < len(p.reasons) else None
        rows.append(row)
    write_rows(inputs.con, rows, columns, out)
    counts = {}
    for p in preds:
        counts[p.band] = counts.get(p.band, 0) + 1
    shown = ", ".join(f"{b}: {counts.get(b, 0)}" for b in ("very high", "high", "medium", "low"))
    console.print(f"{len(preds)} contacts predicted ({shown}) → {out}", markup=False)


def suggest_command(
    contacts: Path = CONTACTS,
    events: Path | None = typer.Option(
        None,
        "--events",
        help="Events file: also propose event rules (points per event, capped).",
    ),
    outcome: str = OUTCOME,
    outcome_time: str | None = OUTCOME_TIME,
    out: Path = typer.Option(..., "--out", help="Model file (YAML) to write."),
    max_rules: int = typer.Option(25, "--max-rules", help="Most conditions that give points."),
    name: str = typer.Option("suggested", "--name", help="Name of the written model."),
    id_column: str | None = ID_COLUMN,
    drop: list[str] | None = DROP,
    keep: list[str] | None = KEEP,
    as_of: str | None = AS_OF,
    folds: int = typer.Option(
        5, "--folds", help="Folds of the cross-validated AUC (0: do not measure)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the selection and the folds."),
    allow_leakage: bool = typer.Option(
        False, "--allow-leakage", help="Suggest even when a column looks like the outcome."
    ),
) -> None:
    """Suggest a readable scorecard (integer points, 0–100) as an ordinary model file."""
    from ..model import load_model
    from ..predict.scorecard import Scorecard
    from ..predict.suggest import cross_validate
    from ..predict.training import (
        TrainOptions,
        check_classes,
        leakage_screen,
        load_dataset,
        make_model,
        refuse_leakage,
        thin_data_warnings,
    )

    if max_rules < 1:
        raise UsageError(f"--max-rules must be at least 1, got {max_rules}")
    if folds == 1 or folds < 0:
        raise UsageError(f"--folds must be 0 (no measure) or at least 2, got {folds}")
    if as_of is not None:
        parse_as_of(as_of)
    options = TrainOptions(
        outcome=outcome,
        outcome_time=outcome_time,
        id_column=id_column,
        drop=tuple(drop or ()),
        as_of=as_of,
        seed=seed,
        keep=tuple(keep or ()),
        allow_leakage=allow_leakage,
    )
    data = load_dataset(contacts, events, options)  # screens the columns as train does
    y = data.y
    check_classes(y, outcome, data.skipped)
    left_out, table = data.screened, data.table
    refuse_leakage(leakage_screen(options, table, y), options, str(contacts))
    with console.status("Fitting the scorecard…"):
        card = Scorecard(max_rules=max_rules, seed=seed).fit(table, y)
    measured = None
    if folds and card.n_rules_:
        with console.status(f"Measuring it in {folds} folds…"):
            measured = cross_validate(
                lambda: Scorecard(max_rules=max_rules, seed=seed),
                lambda: make_model(options),
                table,
                y,
                folds=folds,
                seed=seed,
            )
    warnings = thin_data_warnings(y)
    n_props, n_events = len(card.columns_), len(card.events_)
    what = f"{card.n_rules_} point-giving conditions: {n_props} property rules"
    if events is not None:
        what += f", {n_events} event rules"
    figure = measured.describe() if measured else "not measured (--folds 0)"
    header_lines = [
        f"Suggested by `leadscore suggest` from {Path(contacts).name} (outcome: {outcome}).",
        f"{what}; points scaled to 0-100.",
        f"Ranking: {figure}.",
    ]
    header_lines += [f"Left out {k}: {v}." for k, v in left_out.items()]
    header_lines += [f"Warning: {w}" for w in warnings]
    header_lines.append("Edit freely; check with `leadscore validate` and `leadscore backtest`.")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(card.to_yaml(name, "\n".join(header_lines)))
    load_model(out)  # what we write must be a valid model
    for column, reason in left_out.items():
        console.print(f"Left out {column!r}: {reason} (--keep to use it)", markup=False)
    console.print(f"{what} → {out}", markup=False)
    console.print(f"Ranking: {figure}", markup=False)
    for w in warnings:
        console.print(f"[yellow]Warning:[/] {escape(w)}")


def retrain_command(
    model: Path = typer.Option(..., "--model", help="Directory of the model in use."),
    contacts: Path = CONTACTS,
    events: Path | None = EVENTS,
    force: bool = typer.Option(False, "--force", help="Replace the model even when worse."),
    tolerance: float = typer.Option(
        0.0, "--tolerance", help="AUC the new model may lose and still replace the old one."
    ),
) -> None:
    """Train a new model with the settings of the one in use and replace it only if not worse.

    Both are measured on the same held-out contacts of the new data (contacts the
    model in use never learned from, where there are enough). The old model is kept
    beside it as MODEL.previous.
    """
    from ..predict.retrain import compare

    result = compare(model, contacts, events)
    table = Table(title="Same held-out contacts", show_header=True)
    for col in ("model", "AUC", "avg precision", "lift@10%", "Brier"):
        table.add_column(col, justify="right")
    for label, m in (("in use", result.old), ("new", result.new)):
        table.add_row(
            label,
            f"{m['auc']:.3f}",
            f"{m['average_precision']:.3f}",
            f"{m['lift_at_10pct']:.2f}",
            f"{m['brier']:.4f}",
        )
    console.print(table)
    console.print(result.note, markup=False)
    worse = result.new["auc"] < result.old["auc"] - tolerance
    if worse and not force:
        raise DataError(
            f"the new model is worse on the same held-out contacts (AUC {result.new['auc']:.3f} "
            f"against {result.old['auc']:.3f}); the model in use was kept",
            hint="pass --force to replace it anyway",
        )
    previous = model.with_name(model.name + ".previous")
    if previous.exists():
        shutil.rmtree(previous)
    staged = model.with_name(model.name + ".new")
    if staged.exists():
        shutil.rmtree(staged)
    result.trained.save(staged)
    model.rename(previous)
    staged.rename(model)
    verdict = "worse, replaced because of --force" if worse else "not worse"
    console.print(
        f"New model {verdict}: written to {model} (previous kept in {previous})", markup=False
    )


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
    app.command("predict")(predict_command)
    app.command("suggest")(suggest_command)
    app.command("retrain")(retrain_command)

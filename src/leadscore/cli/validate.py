"""``leadscore validate``: check a model and summarise it."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from ..model.accounts import RollupRule
from ..model.conditions import describe
from ..model.durations import format_duration
from ..model.schema import (
    CompletenessRule,
    EventRule,
    FrequencyRule,
    InactivityRule,
    PropertyRule,
    ScoringModel,
)
from .common import console, load_models, warn_unknown_names


def rule_summary(rule) -> str:
    if isinstance(rule, PropertyRule):
        if rule.cases:
            return " | ".join(f"{describe(c.when)} → {c.points:g}" for c in rule.cases)
        return describe(rule.when)
    if isinstance(rule, EventRule):
        parts = [describe(rule.on)]
        if rule.within:
            parts.append(f"within {format_duration(rule.within)}")
        if rule.max_points:
            parts.append(f"cap {rule.max_points:g}")
        if rule.limit:
            parts.append(f"max {rule.limit.count}/{rule.limit.per}")
        if rule.decay is not None and rule.decay.kind != "none":
            parts.append(f"decay {rule.decay.kind}")
        return ", ".join(parts)
    if isinstance(rule, FrequencyRule):
        window = f" within {format_duration(rule.within)}" if rule.within else ""
        return f"≥ {rule.at_least} × {describe(rule.on)}{window}"
    if isinstance(rule, InactivityRule):
        what = describe(rule.on) if rule.on else "event"
        return f"no {what} for {format_duration(rule.inactive_for)}"
    if isinstance(rule, CompletenessRule):
        return "filled: " + ", ".join(rule.properties)
    return ""


def _points(rule) -> str:
    if isinstance(rule, PropertyRule) and rule.cases:
        return "cases"
    if isinstance(rule, CompletenessRule):
        return f"{rule.points:g} each"
    if isinstance(rule, EventRule):
        return f"{rule.points:g} each"
    return f"{rule.points:g}"


def print_summary(model: ScoringModel) -> None:
    console.print(
        f"[bold green]ok[/] [bold]{escape(model.name)}[/]"
        + (f" — {escape(model.description)}" if model.description else "")
    )
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for col in ("group", "rule", "kind", "points", "what"):
        table.add_column(col, overflow="fold")
    for gname, group in model.groups.items():
        bounds = []
        if group.min is not None:
            bounds.append(f"min {group.min:g}")
        if group.max is not None:
            bounds.append(f"max {group.max:g}")
        if group.combine != "sum":
            bounds.append(group.combine)
        if group.decay.kind != "none":
            bounds.append(f"decay {group.decay.kind}")
        label = gname + (f" ({', '.join(bounds)})" if bounds else "")
        for i, rule in enumerate(group.rules):
            table.add_row(
                escape(label) if i == 0 else "",
                escape(rule.name),
                rule.kind,
                _points(rule),
                escape(rule_summary(rule)),
            )
        if not group.rules:
            table.add_row(escape(label), "(no rules)", "", "", "")
    console.print(table)
    lines = [f"scale {model.scale.min:g}–{model.scale.max:g}"]
    if model.exclusions:
        lines.append("exclusions: " + ", ".join(e.name for e in model.exclusions))
    if model.grades:
        letters = ", ".join(f"{L} ≥ {m:g}" for L, m in model.grades.letters)
        lines.append(f"grades from {model.grades.group}: {letters}, else {model.grades.otherwise}")
    axes = model.matrix_axes
    if axes is not None:
        bands = ", ".join(f"{i} ≥ {m:g}" for i, m in enumerate(axes.bands, start=1))
        lines.append(
            f"matrix: letters {'/'.join(axes.letter_names)} from {axes.fit} × bands of "
            f"{axes.engagement} ({bands}, else {len(axes.bands) + 1}); fitting "
            f"{', '.join(lt for lt in axes.letter_names if lt in axes.fitting)}, hot "
            f"{', '.join(str(b) for b in axes.band_numbers if b in axes.hot)}"
        )
    if model.thresholds:
        lines.append(
            "stages: "
            + "; ".join(
                f"{t.stage} when {describe(t.when)}"
                + (f" from {', '.join(t.from_)}" if t.from_ else "")
                for t in model.thresholds
            )
            + (f"; otherwise {model.default_stage}" if model.default_stage else "")
            + ("; stages are kept once entered" if model.keeps_stage else "")
        )
    if model.triggers:
        lines.append("triggers: " + ", ".join(_trigger(t) for t in model.triggers))
    for line in lines:
        console.print(line, markup=False)
    if model.account is not None:
        _print_account(model)


def _trigger(t) -> str:
    on = t.on.describe()
    ((kind, what),) = list(on.items())[:1]
    if kind == "crosses":
        side = "above" if "above" in what else "below"
        what = f"{what.get('score', 'total')} {side} {what[side]:g}"
    elif kind == "holds":
        what = f"{describe(t.on.holds)} for {format_duration(t.on.for_)}"
    return f"{t.name} ({kind} {what})"


def _rollup_summary(rule) -> str:
    what = {
        "sum": f"sum of {rule.of}",
        "max": f"highest {rule.of}",
        "top": f"mean of the top {rule.top} {rule.of}",
        "count": "contacts" if rule.at_least is None else f"at least {rule.at_least} contacts",
        "roles": f"{rule.roles_needed} of the roles " + ", ".join(rule.roles or {}),
    }[rule.rollup]
    parts = [what]
    if rule.where is not None:
        parts.append(f"where {describe(rule.where)}")
    if rule.max_points:
        parts.append(f"cap {rule.max_points:g}")
    return ", ".join(parts)


def _print_account(model: ScoringModel) -> None:
    acc = model.account
    console.print("[bold]accounts[/]")
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for col in ("group", "rule", "kind", "points", "what"):
        table.add_column(col, overflow="fold")
    for gname, group in acc.groups.items():
        for i, rule in enumerate(group.rules):
            if isinstance(rule, RollupRule):
                pts = "value" if rule.points is None else f"{rule.points:g}"
                what = _rollup_summary(rule)
            else:
                pts, what = _points(rule), rule_summary(rule)
            table.add_row(
                escape(gname) if i == 0 else "", escape(rule.name), rule.kind, pts, escape(what)
            )
        if not group.rules:
            table.add_row(escape(gname), "(no rules)", "", "", "")
    console.print(table)
    lines = [f"account scale {acc.scale.min:g}–{acc.scale.max:g}"]
    if acc.exclusions:
        lines.append("account exclusions: " + ", ".join(e.name for e in acc.exclusions))
    if acc.grades:
        letters = ", ".join(f"{L} ≥ {m:g}" for L, m in acc.grades.letters)
        lines.append(
            f"account grades from {acc.grades.group}: {letters}, else {acc.grades.otherwise}"
        )
    if acc.thresholds:
        lines.append(
            "account stages: "
            + "; ".join(f"{t.stage} when {describe(t.when)}" for t in acc.thresholds)
            + (f"; otherwise {acc.default_stage}" if acc.default_stage else "")
        )
    if acc.triggers:
        lines.append("account triggers: " + ", ".join(_trigger(t) for t in acc.triggers))
    use = model.account_use
    if use.reads_account:
        read = sorted(f"account.{f}" for f in use.property_fields | use.score_fields)
        lines.append("contact rules read: " + ", ".join(read))
    for line in lines:
        console.print(line, markup=False)


def validate(
    models: list[Path] = typer.Argument(
        ..., help="Model YAML file(s) to check.", metavar="MODEL.yaml..."
    ),
    contacts: Path | None = typer.Option(
        None,
        "--contacts",
        "-c",
        help="Contacts (CSV, Parquet or JSONL): warn about properties the models read that "
        "no contact has, with 'did you mean'.",
    ),
    events: Path | None = typer.Option(
        None,
        "--events",
        "-e",
        help="Events file: warn about event types and attributes the models read that no "
        "event has.",
    ),
    id_column: str | None = typer.Option(
        None, "--id-column", help="Contact id column (default: id or contact_id)."
    ),
    enrich: bool = typer.Option(
        False,
        "--enrich/--no-enrich",
        help="Check against the contacts with the built-in enrichment properties added.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Check scoring models: print ok with a summary, or every problem with its line.
    With --contacts (and --events), also warn about names the models read that the
    data does not hold."""
    from ..errors import ModelError, UsageError

    if events is not None and contacts is None:
        raise UsageError("--events goes with --contacts (the events' contacts)")
    if as_json:
        try:
            loaded = load_models(models)
        except ModelError as exc:
            print(
                json.dumps({"ok": False, "problems": [p.to_dict() for p in exc.problems]}, indent=2)
            )
            raise typer.Exit(1) from None
        found = _data_warnings(loaded, models, contacts, events, id_column, enrich, True)
        print(
            json.dumps(
                {
                    "ok": True,
                    "models": [m.name for m in loaded],
                    "warnings": [p.to_dict() for p in found],
                },
                indent=2,
            )
        )
        return
    loaded = load_models(models)
    for model in loaded:
        print_summary(model)
    _data_warnings(loaded, models, contacts, events, id_column, enrich, False)


def _data_warnings(loaded, paths, contacts, events, id_column, enrich, quiet) -> list:
    """Warnings about names the models read that the data does not hold (none without
    data); printed unless ``quiet``."""
    if contacts is None:
        return []
    from ..data.io import load_inputs

    inputs = load_inputs(contacts, events, id_column=id_column, enrich=enrich)
    return warn_unknown_names(
        loaded,
        paths,
        inputs,
        enriched=enrich,
        where=str(contacts),
        events_where=str(events),
        show=not quiet,
    )


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)

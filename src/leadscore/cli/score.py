"""``leadscore score``: score every contact in a file and write the result."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from ..data.io import load_inputs, output_format, write_rows
from ..engine.inprocess import score_contact
from ..model import ScoringModel
from .common import console, fmt_score, load_models, parse_as_of

ENGINES = ("inprocess",)


def output_columns(models: list[ScoringModel]) -> list[str]:
    groups: list[str] = []
    for model in models:
        groups += [g for g in model.groups if g not in groups]
    return [
        "contact_id",
        "model",
        *groups,
        "total",
        "grade",
        "stage",
        "excluded",
        "exclusion_reason",
        "rules_fired",
    ]


def score_inprocess(models: list[ScoringModel], inputs, as_of, *, progress: bool = True):
    """Score every contact with every model in-process; rows in ``output_columns`` shape."""
    rows = []
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not progress or inputs.n_contacts < 2000,
    ) as bar:
        task = bar.add_task("scoring", total=inputs.n_contacts)
        for contact, events in inputs.contact_rows():
            for model in models:
                rows.append(score_contact(model, contact, events, as_of=as_of).row())
            bar.advance(task)
    return rows


def print_ranking(rows: list[dict], models: list[ScoringModel], top: int) -> None:
    for model in models:
        mine = [r for r in rows if r["model"] == model.name]
        mine.sort(key=lambda r: (-r["total"], r["contact_id"]))
        table = Table(
            title=f"Top {min(top, len(mine))} of {len(mine)} — {model.name}",
            header_style="bold",
            title_justify="left",
        )
        table.add_column("#", justify="right")
        table.add_column("contact")
        for g in model.groups:
            table.add_column(g, justify="right")
        table.add_column("total", justify="right", style="bold")
        table.add_column("grade")
        table.add_column("stage")
        for i, r in enumerate(mine[:top], start=1):
            stage = r["stage"] or ""
            if r["excluded"]:
                stage = f"[red]excluded: {r['exclusion_reason']}[/]"
            elif stage and stage != model.default_stage:
                stage = f"[bold green]{stage}[/]"
            table.add_row(
                str(i),
                str(r["contact_id"]),
                *(fmt_score(r[g]) for g in model.groups),
                fmt_score(r["total"]),
                r["grade"] or "",
                stage,
            )
        console.print(table)
        stages: dict[str, int] = {}
        for r in mine:
            key = "excluded" if r["excluded"] else (r["stage"] or "(none)")
            stages[key] = stages.get(key, 0) + 1
        console.print(
            "stages: " + ", ".join(f"{k} {v}" for k, v in sorted(stages.items())), markup=False
        )


def score(
    model: list[Path] = typer.Option(..., "--model", "-m", help="Model YAML (repeat for more)."),
    contacts: Path = typer.Option(..., "--contacts", "-c", help="Contacts: CSV, Parquet or JSONL."),
    events: Path | None = typer.Option(None, "--events", "-e", help="Events file (optional)."),
    out: Path = typer.Option(
        ..., "--out", "-o", help="Where to write scores (.csv/.parquet/.jsonl)."
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Score as of this time (ISO 8601; default now)."
    ),
    id_column: str | None = typer.Option(
        None, "--id-column", help="Contact id column (default: id or contact_id)."
    ),
    engine: str = typer.Option("inprocess", "--engine", help="Evaluator: inprocess."),
    top: int = typer.Option(10, "--top", help="How many top contacts to show."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the output path."),
) -> None:
    """Score every contact and write one row per contact (and model): each group,
    total, grade, stage, excluded with its reason."""
    from ..errors import UsageError

    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}")
    output_format(out)  # refuse a bad extension before doing any work
    models = load_models(model)
    when = parse_as_of(as_of)
    inputs = load_inputs(contacts, events, id_column=id_column)
    if inputs.orphan_events:
        console.print(
            f"[yellow]warning:[/] {inputs.orphan_events} event(s) belong to no contact in "
            f"{contacts} and were not scored (contact ids such as "
            f"{', '.join(repr(x) for x in inputs.orphan_examples)})"
        )
    rows = score_inprocess(models, inputs, when, progress=not quiet)
    write_rows(inputs.con, rows, output_columns(models), out)
    if not quiet:
        print_ranking(rows, models, top)
        console.print(
            f"scored {inputs.n_contacts} contacts with {len(models)} model(s) as of "
            f"{when.isoformat()} from {inputs.n_events} events"
            + (f" ({inputs.orphan_events} orphan)" if inputs.orphan_events else ""),
            markup=False,
        )
    console.print(f"wrote {out}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("score")(score)

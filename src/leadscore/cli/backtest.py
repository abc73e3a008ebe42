"""``leadscore backtest`` and ``leadscore impact``: measure models before publishing."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from ..data.io import load_inputs
from ..errors import UsageError
from ..evaluate.backtest import Backtest, Options, run_backtest
from ..evaluate.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED
from ..evaluate.impact import Impact, impact_preview
from ..evaluate.scoring import ENGINES
from ..evaluate.summary import headline, metric_rows, pct
from .common import console, load_models, parse_as_of, warn_unknown_names


@contextmanager
def _progress(total: int, enabled: bool, label: str):
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not enabled or total < 2000,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda k: bar.advance(task, k)


def print_backtest(bt: Backtest) -> None:
    console.print("[bold]Backtest[/] of " + headline(bt))
    table = Table(header_style="bold", title="Metrics", title_justify="left")
    table.add_column("metric")
    for v in bt.variants:
        table.add_column(v.name, justify="right")
    for label, cells in metric_rows(bt):
        table.add_row(label, *cells)
    console.print(table)

    bands = Table(header_style="bold", title="Conversion by score band", title_justify="left")
    bands.add_column("band")
    for v in bt.variants:
        bands.add_column(v.name, justify="right")
    labels = [b.label for b in bt.variants[0].bands]
    same_scale = all([b.label for b in v.bands] == labels for v in bt.variants)
    if same_scale:
        for i, label in enumerate(labels):
            bands.add_row(
                label,
                *(
                    f"{v.bands[i].contacts} · {pct(v.bands[i].conversion_rate)}"
                    for v in bt.variants
                ),
            )
        console.print(bands)
    if any(v.grades for v in bt.variants):
        grades = Table(header_style="bold", title="Conversion by grade", title_justify="left")
        grades.add_column("model")
        grades.add_column("grades (contacts · conversion)")
        for v in bt.variants:
            grades.add_row(
                v.name,
                "   ".join(f"{g.label}: {g.contacts} · {pct(g.conversion_rate)}" for g in v.grades),
            )
        console.print(grades)
    for v in bt.variants:
        if not v.rules:
            continue
        rules = Table(header_style="bold", title=f"Rules of {v.name}", title_justify="left")
        for col in ("rule", "fires on", "conv. with", "conv. without", "AUC effect", "flags"):
            rules.add_column(col, justify="left" if col in ("rule", "flags") else "right")
        for r in v.rules:
            rules.add_row(
                r.rule,
                f"{r.fires_on} ({pct(r.fires_share)})",
                pct(r.conversion_with),
                pct(r.conversion_without),
                f"{r.auc_effect:+.4f}",
                "[yellow]" + "; ".join(r.flags) + "[/]" if r.flags else "",
            )
        console.print(rules)
    for w in bt.warnings:
        console.print(f"[yellow]warning:[/] {w}")


def _warn_accounts(models, command: str) -> None:
    """Backtests score each contact just before its outcome, one time per contact; an
    account rolls up contacts scored at one time, so accounts are not scored here."""
    from .score_report import warn

    readers = [m.name for m in models if m.account_use.reads_account]
    if readers:
        warn(
            f"{command} scores contacts without their accounts: every account.<field> that "
            f"model(s) {', '.join(map(repr, readers))} read is missing here (their account "
            "rules give no points); compare variants that differ elsewhere, or score with "
            "`leadscore score --accounts` to see the account rules at work"
        )


def backtest(
    model: list[Path] = typer.Option(
        ..., "--model", "-m", help="Model YAML to compare (repeat; the first is the baseline)."
    ),
    contacts: Path = typer.Option(..., "--contacts", "-c", help="Contacts: CSV, Parquet or JSONL."),
    events: Path | None = typer.Option(None, "--events", "-e", help="Events file (optional)."),
    outcome: str = typer.Option(
        ..., "--outcome", help="Contact column with the outcome: 1/0, true/false or yes/no."
    ),
    outcome_time: str | None = typer.Option(
        None,
        "--outcome-time",
        help="Contact column with the outcome time: each contact is scored just before it.",
    ),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="Cut-off for contacts without an outcome time (default: the latest event).",
    ),
    id_column: str | None = typer.Option(
        None, "--id-column", help="Contact id column (default: id or contact_id)."
    ),
    stage: str = typer.Option("MQL", "--stage", help="Stage whose precision/recall to measure."),
    target_volume: int | None = typer.Option(
        None, "--target-volume", help="Suggest the threshold for at most this many MQLs."
    ),
    target_precision: float | None = typer.Option(
        None, "--target-precision", help="Suggest the threshold reaching this precision (0-1)."
    ),
    bands: int = typer.Option(10, "--bands", help="Number of score bands over the scale."),
    resamples: int = typer.Option(
        DEFAULT_RESAMPLES, "--bootstrap", help="Bootstrap resamples for intervals (0: none)."
    ),
    seed: int = typer.Option(DEFAULT_SEED, "--seed", help="Seed of the bootstrap."),
    no_rules: bool = typer.Option(False, "--no-rules", help="Skip the per-rule diagnostics."),
    engine: str = typer.Option("sql", "--engine", help="Evaluator: sql (DuckDB) or inprocess."),
    html: Path | None = typer.Option(
        None, "--html", help="Write a self-contained HTML report with charts."
    ),
    charts: Path | None = typer.Option(
        None, "--charts", help="Also write each chart as a PNG file into this folder."
    ),
    enrich: bool = typer.Option(
        False,
        "--enrich/--no-enrich",
        help="Add the built-in enrichment properties (email_type, email_domain, seniority, "
        "...) to the contacts before scoring, as `leadscore score --enrich` does.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Compare scoring models against past outcomes: AUC, lift, MQL precision and
    recall, suggested thresholds, rule diagnostics, with bootstrap intervals."""
    if html is not None and html.suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"--html {str(html)!r}: give a file name ending in .html")
    models = load_models(model)
    _warn_accounts(models, "backtest")
    cutoff = parse_as_of(as_of) if as_of is not None else None
    options = Options(
        stage=stage,
        target_volume=target_volume,
        target_precision=target_precision,
        bands=bands,
        resamples=resamples,
        seed=seed,
        rules=not no_rules,
    )
    options.check()
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}")
    inputs = load_inputs(contacts, events, id_column=id_column, enrich=enrich)
    warn_unknown_names(
        models,
        model,
        inputs,
        enriched=enrich,
        where=str(contacts),
        events_where=str(events),
        stderr=as_json,
    )
    with _progress(inputs.n_contacts, not as_json and engine == "inprocess", "scoring") as advance:
        bt = run_backtest(
            models,
            inputs,
            outcome=outcome,
            outcome_time=outcome_time,
            as_of=cutoff,
            options=options,
            sources={m.name: str(p) for m, p in zip(models, model, strict=True)},
            source=str(contacts),
            engine=engine,
            progress=advance,
        )
    if html is not None:
        from ..evaluate.report import write_report

        write_report(bt, html)
    if charts is not None:
        from ..evaluate.charts import render_png

        written = render_png(bt, charts)
    if as_json:
        print(json.dumps(bt.to_dict(), indent=2, ensure_ascii=False))
        return
    print_backtest(bt)
    if html is not None:
        console.print(f"wrote {html}", markup=False)
    if charts is not None:
        console.print(f"wrote {len(written)} charts to {charts}", markup=False)


def print_impact(imp: Impact) -> None:
    console.print(
        f"[bold]Impact[/] of {imp.draft!r} replacing {imp.current!r} on {imp.contacts} "
        f"contacts as of {imp.as_of.isoformat()}"
    )
    table = Table(header_style="bold", title="Stages", title_justify="left")
    for col in ("stage", "now", "after", "entering", "leaving"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    for s in imp.stage_order:
        now, after = imp.count(s, "current"), imp.count(s, "draft")
        table.add_row(s, str(now), str(after), f"+{imp.entering(s)}", f"−{imp.leaving(s)}")
    console.print(table)
    for title, cells, order in (
        ("Stage moves", imp.stages, imp.stage_order),
        ("Grade moves", imp.grades, imp.grade_order),
    ):
        if len(order) < 2 and title.startswith("Grade"):
            continue
        matrix = Table(
            header_style="bold",
            title=title,
            title_justify="left",
            caption="rows: now · columns: after",
            caption_justify="left",
        )
        matrix.add_column("")
        for b in order:
            matrix.add_column(b, justify="right")
        for a in order:
            row = []
            for b in order:
                n = cells.get((a, b), 0)
                row.append("·" if n == 0 else (f"[bold]{n}[/]" if a != b else f"[dim]{n}[/]"))
            matrix.add_row(a, *row)
        console.print(matrix)
    console.print(
        f"scores up for {imp.score_up}, down for {imp.score_down}; mean change "
        f"{imp.mean_change:+.2f} points",
        markup=False,
    )


def impact(
    current: Path = typer.Option(..., "--from", help="The model in use now (YAML)."),
    draft: Path = typer.Option(..., "--to", help="The draft model (YAML)."),
    contacts: Path = typer.Option(..., "--contacts", "-c", help="Contacts: CSV, Parquet or JSONL."),
    events: Path | None = typer.Option(None, "--events", "-e", help="Events file (optional)."),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Score as of this time (ISO 8601; default now)."
    ),
    id_column: str | None = typer.Option(
        None, "--id-column", help="Contact id column (default: id or contact_id)."
    ),
    engine: str = typer.Option("sql", "--engine", help="Evaluator: sql (DuckDB) or inprocess."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Preview what publishing a draft would change: contacts entering and leaving
    each stage, and grade changes, as matrices."""
    from ..errors import ModelError

    problems = []
    loaded = []
    for path in (current, draft):
        try:
            loaded.extend(load_models([path]))
        except ModelError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ModelError(problems)
    _warn_accounts(loaded, "impact")
    when = parse_as_of(as_of)
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}")
    inputs = load_inputs(contacts, events, id_column=id_column)
    with _progress(inputs.n_contacts, not as_json and engine == "inprocess", "scoring") as advance:
        result = impact_preview(loaded[0], loaded[1], inputs, when, engine=engine, progress=advance)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return
    print_impact(result)


def register(app: typer.Typer) -> None:
    app.command("backtest")(backtest)
    app.command("impact")(impact)

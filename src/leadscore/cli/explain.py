"""``leadscore explain``: the breakdown of one contact's score (or, with
``--accounts FILE --account ID``, of one account's)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from ..data.io import load_inputs
from ..engine.inprocess import score_contact
from ..engine.result import ScoreResult
from ..errors import DataError, UsageError
from .common import console, fmt_points, fmt_score, load_models, parse_as_of


def print_breakdown(result: ScoreResult, model=None, *, show_all: bool = False) -> None:
    head = (
        f"[bold]{escape(str(result.contact_id))}[/] — {escape(result.model)} as of "
        f"{result.as_of.isoformat()}: "
        f"total [bold]{fmt_score(result.total)}[/]"
    )
    if result.grade:
        head += f", grade [bold]{result.grade}[/]"
    if result.matrix:
        head += f", matrix [bold]{result.matrix}[/] ({escape(result.quadrant or '')})"
    if result.excluded:
        head += f", [red]excluded ({escape('; '.join(result.exclusion_reasons))})[/]"
    elif result.stage:
        head += f", stage [bold green]{escape(result.stage)}[/]"
    console.print(head)
    table = Table(header_style="bold")
    for col, justify in (
        ("rule", "left"),
        ("events", "right"),
        ("raw", "right"),
        ("decayed", "right"),
        ("points", "right"),
        ("note", "left"),
    ):
        table.add_column(col, justify=justify)
    for group, value in result.groups.items():
        hits = [h for h in result.breakdown if h.group == group and (h.fired or show_all)]
        for hit in hits:
            note = hit.detail or ""
            if hit.capped:
                note = (note + ", " if note else "") + "capped"
            events = str(hit.matched) if hit.kind in ("event", "frequency") else ""
            table.add_row(
                escape(hit.rule),
                events,
                fmt_points(hit.points_raw),
                fmt_points(hit.points_decayed),
                fmt_points(hit.points),
                escape(note),
                style=None if hit.fired else "dim",
            )
        table.add_row(
            f"[bold]{escape(group)}[/]",
            "",
            "",
            "",
            f"[bold]{fmt_score(value)}[/]",
            "",
            end_section=True,
        )
    console.print(table)
    if model is not None:
        from ..model.conditions import describe

        reasons = ", ".join(result.exclusion_reasons) or "none"
        console.print(f"exclusions: {reasons}", markup=False)
        reached = next((t for t in model.thresholds if t.stage == result.stage), None)
        if result.excluded:
            console.print("stage: none (excluded)", markup=False)
        elif reached is not None:
            console.print(f"stage: {reached.stage} ({describe(reached.when)})", markup=False)
        else:
            console.print(f"stage: {result.stage or 'none'} (no threshold reached)", markup=False)
    if result.rules_fired == 0:
        console.print("no rule fired for this contact: every group is 0", markup=False)


def explain(
    model: Path = typer.Option(..., "--model", "-m", help="Model YAML."),
    contacts: Path = typer.Option(..., "--contacts", "-c", help="Contacts: CSV, Parquet or JSONL."),
    events: Path | None = typer.Option(None, "--events", "-e", help="Events file (optional)."),
    contact_id: str | None = typer.Option(None, "--id", help="The contact to explain."),
    accounts: Path | None = typer.Option(
        None,
        "--accounts",
        "-a",
        help="Accounts file: score with them, as `score --accounts` does.",
    ),
    account_id: str | None = typer.Option(
        None, "--account", help="The account to explain (needs --accounts)."
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Score as of this time (ISO 8601; default now)."
    ),
    id_column: str | None = typer.Option(
        None, "--id-column", help="Contact id column (default: id or contact_id)."
    ),
    enrich: bool = typer.Option(
        False, "--enrich/--no-enrich", help="Add the built-in enrichment properties first."
    ),
    show_all: bool = typer.Option(False, "--all", help="Also list rules that did not fire."),
    top: int = typer.Option(
        10, "--top", help="Accounts: how many contacts to list per roll-up and in all."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Explain one contact's score: each rule that fired, matching events, points
    before and after decay and caps, exclusions, and the stage reached. With
    --accounts and --account ID, one account's: each account rule, the contacts
    behind every roll-up's points, and the account's contacts."""
    from . import explain_accounts as ea

    (loaded,) = load_models([model])
    when = parse_as_of(as_of)
    if (contact_id is None) == (account_id is None):
        raise UsageError(
            "give the contact to explain with --id ID, or an account with --account ID"
        )
    if account_id is not None:
        if accounts is None:
            raise UsageError("--account needs the accounts: give them with --accounts FILE")
        if loaded.account is None:
            raise UsageError(
                f"model {loaded.name!r} has no 'account:' section: it scores no accounts "
                "(see the Accounts section of docs/model-reference.md); explain a contact "
                "with --id"
            )
    inputs = load_inputs(contacts, events, accounts=accounts, id_column=id_column, enrich=enrich)
    if account_id is not None:
        pop = ea.account_population(loaded, inputs, account_id, when, str(accounts))
        if as_json:
            ea.print_json(pop)
        else:
            ea.print_account_breakdown(pop, loaded, show_all=show_all, top=top)
        return
    found = inputs.con.execute(
        "SELECT count(*) FROM contacts WHERE id = ?", [contact_id]
    ).fetchone()[0]
    if not found:
        near = [
            r[0]
            for r in inputs.con.execute(
                "SELECT id FROM contacts ORDER BY levenshtein(id, ?), id LIMIT 3", [contact_id]
            ).fetchall()
        ]
        raise DataError(
            f"no contact with id {contact_id!r}",
            source=str(contacts),
            hint="ids close to it: " + ", ".join(near) if near else None,
        )
    if accounts is not None:
        result, pop = ea.contact_population(loaded, inputs, contact_id, when)
    else:
        inputs.con.execute(
            "CREATE OR REPLACE TEMP TABLE contacts AS SELECT * FROM contacts WHERE id = ?",
            [contact_id],
        )
        contact, evs = next(inputs.contact_rows())
        result, pop = score_contact(loaded, contact, evs, as_of=when), None
    if as_json:
        print(result.model_dump_json(indent=2))
        return
    print_breakdown(result, loaded, show_all=show_all)
    if pop is not None:
        ea.print_account_link(pop, contact_id)
    elif loaded.account_use.reads_account:
        console.print(
            "[yellow]note:[/] the model reads account fields and no accounts were given: "
            "every account.<field> is missing (give them with --accounts FILE)"
        )


def register(app: typer.Typer) -> None:
    app.command("explain")(explain)

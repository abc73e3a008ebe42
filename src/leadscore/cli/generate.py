"""``leadscore generate``: synthetic contacts and events with a known ground truth."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from ..data.generate import END, FORMATS, accounts_path, simulate, write
from .common import console

PROGRESS_FROM = 50_000  # contacts from which a progress bar is shown


def generate(
    contacts: int = typer.Option(..., "--contacts", help="How many contacts to make."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives the same files."),
    out: Path = typer.Option(
        ..., "--out", help="Folder to write contacts.*, events.* and accounts.* into."
    ),
    events_per_contact: float = typer.Option(
        20.0, "--events-per-contact", help="Average number of events per contact."
    ),
    accounts: int | None = typer.Option(
        None,
        "--accounts",
        help="How many companies the contacts work for (default: one per 8 contacts, at most "
        "24,000); the accounts file has those with contacts.",
    ),
    fmt: str = typer.Option(
        "parquet", "--format", help="File format: " + " or ".join(FORMATS) + "."
    ),
) -> None:
    """Make a synthetic B2B funnel: contacts, their events, and who converted.

    A hidden propensity per contact drives their profile, their activity and
    whether they convert. The labels (converted, converted_at) are columns of
    the contacts file, for backtests and training; events end on 2026-01-01,
    so score as of that time. The accounts file has one row per company; about
    40% of the contacts name theirs in account_id, the others link by e-mail
    domain (or not at all).
    """
    started = time.perf_counter()
    if contacts >= PROGRESS_FROM:
        with Progress(
            TextColumn("{task.description:<24}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task("making contacts", total=1.0)

            def report(what: str, share: float) -> None:
                bar.update(task, advance=share, description=what)

            data = simulate(
                contacts,
                seed,
                events_per_contact=events_per_contact,
                accounts=accounts,
                report=report,
            )
            paths = write(data, out, fmt=fmt, report=report)
    else:
        data = simulate(contacts, seed, events_per_contact=events_per_contact, accounts=accounts)
        paths = write(data, out, fmt=fmt)
    elapsed = time.perf_counter() - started
    converted = sum(data.contacts.column("converted").to_pylist())
    console.print(f"wrote {data.contacts.num_rows:,} contacts to {paths[0]}", markup=False)
    console.print(f"wrote {data.events.num_rows:,} events to {paths[1]}", markup=False)
    linked = data.contacts.num_rows - data.contacts.column("account_id").null_count
    console.print(
        f"wrote {data.accounts.num_rows:,} accounts to {accounts_path(out, fmt)} "
        f"({linked:,} contacts name theirs in account_id; the others link by e-mail domain, "
        "free-mail addresses not at all)",
        markup=False,
    )
    console.print(
        f"{converted:,} converted ({converted / data.contacts.num_rows:.1%}; hidden labels in "
        f"the columns converted, converted_at); score as of "
        f"{END.strftime('%Y-%m-%dT%H:%M:%SZ')}; {elapsed:.1f}s",
        markup=False,
    )


def register(app: typer.Typer) -> None:
    app.command("generate")(generate)

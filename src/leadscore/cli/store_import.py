"""``leadscore import``: contacts and events from files into the service's store.

The work is :func:`leadscore.service.importing.import_files`; this command shows its
progress (a bar per step) and ends with what was loaded and the load rate.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from .common import console
from .progress import status
from .serve import DATABASE_HELP

STEPS = {
    "checking": "checking rows",
    "accounts": "writing accounts",
    "contacts": "writing contacts",
    "events": "writing events",
    "scoring": "scoring contacts",
}


def import_command(
    contacts: Path | None = typer.Option(
        None,
        "--contacts",
        help="Contacts file (.csv, .parquet, .jsonl): an id column ('id' or 'contact_id') and "
        "one column per property; 'email' is the contact's e-mail.",
    ),
    events: Path | None = typer.Option(
        None,
        "--events",
        help="Events file: contact_id, type, ts (ISO 8601, UTC when no zone), optional "
        "event_id (the idempotency key) and one column per attribute.",
    ),
    accounts: Path | None = typer.Option(
        None,
        "--accounts",
        help="Accounts file: an id column ('id' or 'account_id'), 'domain' (links contacts by "
        "e-mail) and one column per property.",
    ),
    database: str = typer.Option(None, "--database", help=DATABASE_HELP),
    id_column: str | None = typer.Option(
        None, "--id-column", help="The contacts file's id column, when not 'id' or 'contact_id'."
    ),
    fire_triggers: bool = typer.Option(
        False,
        "--fire-triggers",
        help="Fire the published models' triggers for the contacts that cross a threshold "
        "(by default their state follows the new stages, and nothing is sent).",
    ),
    unknown_contacts: str | None = typer.Option(
        None,
        "--unknown-contacts",
        help="An event whose contact is in neither the contacts file nor the store: 'create' "
        "the contact (id only) or 'refuse' the import; default the service's setting "
        "unknown_contacts (create).",
    ),
    repeated_emails: str = typer.Option(
        "refuse",
        "--repeated-emails",
        help="An e-mail on several contacts (of the file, or another stored contact's): "
        "'refuse' the import, or keep it on the 'first' (an earlier row, the stored contact) "
        "and leave it off the others.",
    ),
    check: bool = typer.Option(
        False,
        "--check",
        help="Check the files against the store: the whole load in a transaction that is "
        "rolled back (nothing written, nothing scored), with what it would change.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Load contacts, events and accounts from CSV, Parquet or JSON Lines files into the
    service's store, then score them.

    Everything is checked before anything is written, and the load is one transaction: a
    bad row stops the import with the file, row, column and fix, and the store stays as
    it was. Contacts already stored are merged (the file's non-empty values over the
    stored ones); an event whose event_id is stored already counts once. The contacts
    are rescored under the published models, as the service rescores them.
    """
    from ..service import Service, load_settings
    from ..service.importing import import_files, read_files

    settings = load_settings({"database": database, "unknown_contacts": unknown_contacts})
    with status("reading and checking the files", quiet):
        inputs = read_files(contacts, events, accounts=accounts, id_column=id_column)
    svc = Service(settings)
    try:
        with Progress(
            TextColumn("{task.description:<18}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=quiet,
        ) as bar:
            tasks: dict[str, int] = {}

            def progress(step: str, done: int, total: int) -> None:
                if step not in tasks:
                    tasks[step] = bar.add_task(STEPS.get(step, step), total=total)
                bar.update(tasks[step], completed=done, total=total)

            report = import_files(
                svc,
                contacts,
                events,
                accounts=accounts,
                fire_triggers=fire_triggers,
                repeated_emails=repeated_emails,
                check_only=check,
                progress=progress,
                inputs=inputs,
            )
    finally:
        svc.store.dispose()
    parts = []
    if accounts is not None:
        parts.append(
            f"{report.accounts_read:,} accounts ({report.accounts_created:,} new, "
            f"{report.accounts_updated:,} updated)"
        )
    if contacts is not None:
        parts.append(
            f"{report.contacts_read:,} contacts ({report.contacts_created:,} new, "
            f"{report.contacts_updated:,} updated, {report.contacts_unchanged:,} unchanged)"
        )
    if events is not None:
        parts.append(
            f"{report.events_added:,} events"
            + (
                f" ({report.events_duplicate:,} skipped: their event_id was stored already or "
                "repeated)"
                if report.events_duplicate
                else ""
            )
        )
    verb = "checked, nothing written: would import" if check else "imported"
    console.print(f"{verb} {' and '.join(parts)}", markup=False)
    if report.emails_left_out:
        console.print(
            f"{report.emails_left_out:,} e-mails {'would be' if check else 'were'} left off "
            "contacts: the address was on an earlier row or another stored contact",
            markup=False,
        )
    if report.contacts_for_events:
        console.print(
            f"{report.contacts_for_events:,} contacts {'would be' if check else 'were'} created "
            "for events whose contact is in neither the contacts file nor the store "
            "(--unknown-contacts refuse refuses them)",
            markup=False,
        )
    console.print(
        f"load rate: {report.rate:,.0f} rows/s ({report.rows:,} rows in "
        f"{report.load_seconds:.1f} s)",
        markup=False,
    )
    if check:
        return
    if report.models:
        console.print(
            f"scored {report.scored:,} contacts under {', '.join(report.models)} in "
            f"{report.score_seconds:.1f} s"
            + (f" ({report.scored / report.score_seconds:,.0f}/s)" if report.score_seconds else ""),
            markup=False,
        )
    else:
        console.print(
            "no model is published: the contacts are stored unscored; publishing a model "
            "scores them",
            markup=False,
        )


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)

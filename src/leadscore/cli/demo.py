"""``leadscore demo``: the main job on the embedded default, on sample data.

First the batch scorer on DuckDB (sample contacts, events and accounts generated,
enriched, scored, ranked in the terminal; the accounts with ``examples/abm.yaml``),
then the service on SQLite filled with sample
data and its web app, until Ctrl-C.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .common import console

if TYPE_CHECKING:
    from ..web.sample import Step

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
EXAMPLE_MODEL = EXAMPLES / "b2b_saas.yaml"
ACCOUNT_MODEL = EXAMPLES / "abm.yaml"  # the same contacts, and their accounts
DEMO_ADMIN = ("admin@example.com", "leadscore-demo")


def _batch(folder: Path, contacts: int, seed: int, as_of: str) -> None:
    from ..data.generate import accounts_path, generate
    from ..data.io import load_inputs
    from ..engine.batch import score_batch
    from ..model import load_model
    from .common import parse_as_of
    from .progress import run_with_progress
    from .score_report import link_warnings, print_account_ranking, print_contact_ranking

    data_dir = folder / "data"
    contacts_path, events_path = data_dir / "contacts.parquet", data_dir / "events.parquet"
    accounts_file = accounts_path(data_dir)
    if not all(p.exists() for p in (contacts_path, events_path, accounts_file)):
        console.print(
            f"generating {contacts} sample contacts and their accounts (seed {seed}) in {data_dir}",
            markup=False,
        )
        contacts_path, events_path = generate(contacts, seed, data_dir)
    model, abm = load_model(EXAMPLE_MODEL), load_model(ACCOUNT_MODEL)
    when = parse_as_of(as_of)
    inputs = load_inputs(
        contacts_path, events_path, accounts=accounts_file, enrich=True, progress=True
    )
    con = inputs.con
    out, accounts_out = folder / "scores.csv", folder / "accounts.csv"
    runs = []

    def work(step) -> None:
        step("scoring contacts")
        with score_batch([model], inputs, as_of=when, accounts=False) as run:
            run.write(out)
        step("scoring accounts")
        with score_batch([abm], inputs, as_of=when, accounts=True) as run:
            runs.append(run)
            run.write(None, accounts_out)

    run_with_progress(con, work, False, steps=["scoring contacts", "scoring accounts"])
    print_contact_ranking(con, out, [model], 15)
    print_account_ranking(con, accounts_out, [abm], 10)
    link_warnings(runs[0].report)
    best = con.execute(
        f"SELECT contact_id FROM read_csv('{out}') ORDER BY total DESC, contact_id LIMIT 1"
    ).fetchone()[0]
    top_account = con.execute(
        f"SELECT account_id FROM read_csv('{accounts_out}') ORDER BY total DESC, account_id LIMIT 1"
    ).fetchone()[0]
    console.print(
        f"scored {inputs.n_contacts} contacts from {inputs.n_events} events as of "
        f"{when.isoformat()} with {EXAMPLE_MODEL.name} on DuckDB, and their "
        f"{inputs.n_accounts} accounts with {ACCOUNT_MODEL.name}; wrote {out} and "
        f"{accounts_out}",
        markup=False,
    )
    files = f"-c {contacts_path} -e {events_path} --as-of {as_of} --enrich"
    console.print(
        "why is the top lead on top? "
        f"leadscore explain -m examples/b2b_saas.yaml {files} --id {best}",
        markup=False,
    )
    console.print(
        "and the top account? "
        f"leadscore explain -m examples/abm.yaml {files} --accounts {accounts_file} "
        f"--account {top_account}",
        markup=False,
    )


def fill_store(work: Callable[[Step], Any]) -> Any:
    """Run ``work`` (the sample store's filling) with a bar that follows its steps."""
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task("filling the store", total=None)

        def progress(what: str, done: int, total: int) -> None:
            bar.update(task, description=what, completed=done, total=total)

        return work(progress)


def _service(folder: Path, contacts: int, seed: int, port: int) -> None:
    import sqlalchemy as sa

    from ..service.core import Service
    from ..service.settings import load_settings
    from ..store import tables as T
    from ..web import users
    from ..web.sample import seed as seed_store
    from .serve import run_server

    database = f"sqlite:///{(folder / 'leadscore.db').resolve()}"
    svc = Service(load_settings({"database": database}))
    with svc.store.read() as conn:
        empty = not conn.execute(sa.select(sa.func.count()).select_from(T.contacts)).scalar_one()
    if empty:
        console.print(
            f"filling the service's store with {contacts} sample contacts and 12 weeks of "
            "score history (about a minute)…",
            markup=False,
        )
        fill_store(lambda progress: seed_store(svc, contacts, seed, progress=progress))
        with svc.store.write() as conn:
            users.create_user(conn, *DEMO_ADMIN, "admin")
    console.print(
        f"\nopen http://127.0.0.1:{port}/ and sign in as {DEMO_ADMIN[0]} / {DEMO_ADMIN[1]} "
        "(Ctrl-C stops the service)",
        markup=False,
    )
    run_server(database=database, host="127.0.0.1", port=port)


def demo(
    contacts: int = typer.Option(5000, "--contacts", help="Sample contacts for the batch run."),
    service_contacts: int = typer.Option(
        1000, "--service-contacts", help="Sample contacts in the service's store."
    ),
    seed: int = typer.Option(7, "--seed", help="Seed of the sample data."),
    folder: Path = typer.Option(Path("demo-out"), "--dir", help="Where the demo writes files."),
    as_of: str = typer.Option(
        "2026-01-01T00:00:00Z",
        "--as-of",
        help="Batch run: score as of (the sample data ends then).",
    ),
    serve: bool = typer.Option(
        True, "--serve/--no-serve", help="After the batch run, start the service and web app."
    ),
    port: int = typer.Option(8000, "--port", help="Port of the service."),
) -> None:
    """Score sample contacts on DuckDB and show the ranking, then run the service
    on SQLite with sample data and open its web app."""
    folder.mkdir(parents=True, exist_ok=True)
    _batch(folder, contacts, seed, as_of)
    if serve:
        _service(folder, service_contacts, seed, port)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)

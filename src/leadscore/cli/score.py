"""``leadscore score``: score every contact in a file (or tables) and write the result.

The command reads its options, sets up the population for the engine (files into
DuckDB, tables in PostgreSQL, Parquet on Spark) and hands it to
:func:`leadscore.engine.batch.score_batch`, which every engine shares; what it prints
afterwards is read back from the written files (``score_report``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from ..data.io import output_format
from ..engine.batch import BatchRun, Tables, score_batch
from .common import console, load_models, parse_as_of, warn_unknown_names
from .progress import run_with_progress, status

ENGINES = ("duckdb", "inprocess", "spark", "postgresql://…")

ENGINE_HELP = (
    "Where to score: duckdb (default; files), postgresql://user@host/db (tables), spark "
    "(Parquet, --master), or inprocess (the reference evaluator, slow)."
)


def score(
    model: list[Path] = typer.Option(..., "--model", "-m", help="Model YAML (repeat for more)."),
    contacts: Path | None = typer.Option(
        None, "--contacts", "-c", help="Contacts: CSV, Parquet or JSONL (not for PostgreSQL)."
    ),
    events: Path | None = typer.Option(None, "--events", "-e", help="Events file (optional)."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Where to write scores (.csv/.parquet/.jsonl)."
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Score as of this time (ISO 8601; default now)."
    ),
    as_of_column: str | None = typer.Option(
        None,
        "--as-of-column",
        help="Contacts column holding each contact's own as-of time (overrides --as-of where "
        "filled).",
    ),
    id_column: str | None = typer.Option(
        None, "--id-column", help="Contact id column (default: id or contact_id)."
    ),
    engine: str = typer.Option("duckdb", "--engine", help=ENGINE_HELP),
    master: str = typer.Option(
        "local[*]", "--master", help="Spark master: local[*] or a cluster URL (spark only)."
    ),
    contacts_table: str = typer.Option(
        "contacts", "--contacts-table", help="PostgreSQL table of contacts (id + properties)."
    ),
    events_table: str = typer.Option(
        "events",
        "--events-table",
        help="PostgreSQL table of events (contact_id, event_id, type, ts + attributes).",
    ),
    show_sql: bool = typer.Option(
        False, "--show-sql", help="Print the SQL for the chosen engine and stop (no scoring)."
    ),
    memory_limit: str | None = typer.Option(
        None,
        "--memory-limit",
        help="DuckDB memory limit, e.g. 512MB or 2GB, or 'unlimited' (default: a quarter of "
        "the machine's memory, at most 768MB; spills to disk beyond).",
    ),
    enrich: bool = typer.Option(
        False,
        "--enrich/--no-enrich",
        help="Add the built-in enrichment properties (email_type, email_domain, seniority, "
        "...) before scoring; files only.",
    ),
    accounts: Path | None = typer.Option(
        None,
        "--accounts",
        "-a",
        help="Accounts file (CSV, Parquet or JSONL: id or account_id, domain, properties): "
        "score the models' accounts too; contacts link by account_id, else e-mail domain.",
    ),
    accounts_out: Path | None = typer.Option(
        None,
        "--accounts-out",
        help="Where to write account scores (default: next to --out, scores.parquet → "
        "scores.accounts.parquet).",
    ),
    accounts_table: str | None = typer.Option(
        None, "--accounts-table", help="PostgreSQL table of accounts (id, domain + properties)."
    ),
    top: int = typer.Option(10, "--top", help="How many top contacts (and accounts) to show."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the output path."),
) -> None:
    """Score every contact and write one row per contact (and model): each group,
    total, grade, stage, excluded with its reason. With --accounts, the accounts too
    (one row per account and model, in --accounts-out), and each contact's account_id."""
    from ..errors import UsageError
    from . import score_accounts as acc

    kind = _engine_kind(engine)
    models = load_models(model)
    when = parse_as_of(as_of)
    if kind != "postgres" and contacts is None:
        raise UsageError(f"--contacts is needed with --engine {engine}")
    if not show_sql:
        if out is None:
            raise UsageError("--out is needed (or --show-sql to print the query)")
        output_format(out)  # refuse a bad extension before doing any work
    if enrich and kind in ("postgres", "spark"):
        raise UsageError(
            f"--enrich works with the duckdb and inprocess engines; for {kind}, enrich the "
            "contacts first with `leadscore enrich --contacts FILE --out FILE`"
        )
    if kind == "inprocess" and as_of_column is not None:
        raise UsageError("--as-of-column needs a SQL engine (duckdb, postgresql, spark)")
    job = acc.plan(
        kind,
        models,
        accounts=accounts,
        table=accounts_table,
        accounts_out=accounts_out,
        as_of_column=as_of_column,
        out=out,
        show_sql=show_sql,
    )
    if kind == "spark" and show_sql:  # from the files' columns: no Spark session needed
        if job is not None:
            acc.show_spark_sql(models, contacts, events, job.accounts, when)
        else:
            _print_spark_sql(models, contacts, events, when, as_of_column)
        return
    if kind == "spark":
        _check_parquet(contacts, events, out)
    account_out = job.out if job is not None else None
    population = _Population(kind, engine, contacts, events, job, quiet)
    with population.open(
        id_column=id_column,
        memory_limit=memory_limit,
        enrich=enrich,
        master=master,
        contacts_table=contacts_table,
        events_table=events_table,
    ) as source:
        plan = {
            "engine": kind,
            "as_of": when,
            "as_of_column": as_of_column,
            "accounts": job is not None,
            "execute": not show_sql,
        }
        if show_sql:
            with score_batch(models, source, **plan) as run:
                shown = run.statements(pretty=True)
            if job is not None:
                from .score_report import print_sql

                print_sql(shown)
            else:
                print(shown[0])
            return
        population.warn_orphans()
        if population.inputs is not None and not quiet:
            warn_unknown_names(
                models,
                model,
                population.inputs,
                enriched=enrich,
                where=str(contacts),
                events_where=str(events),
            )
        report = _score(population, models, source, plan, out, account_out, quiet)
    _report(population, models, report, out, job, top, when, quiet)


def _check_parquet(contacts: Path | None, events: Path | None, out: Path | None) -> None:
    from ..errors import UsageError

    for path in (contacts, events):
        if path is not None and path.suffix.lower() not in (".parquet", ".pq"):
            raise UsageError(f"--engine spark reads Parquet; {str(path)!r} is not .parquet")
    if out is not None and out.suffix.lower() not in (".parquet", ".pq"):
        raise UsageError(f"--engine spark writes Parquet; use --out NAME.parquet, not {out}")


class _Population:
    """Where the contacts come from for one engine, opened for the length of a run."""

    def __init__(self, kind: str, url: str, contacts, events, job, quiet: bool):
        self.kind, self.url, self.contacts, self.events = kind, url, contacts, events
        self.job, self.quiet = job, quiet
        self.inputs: Any = None

    @contextmanager
    def open(self, **options: Any) -> Iterator[Any]:
        job = self.job
        if self.kind == "postgres":
            yield Tables(
                self.url,
                options["contacts_table"],
                options["events_table"],
                job.table if job is not None else None,
            )
            return
        if self.kind == "spark":
            from ..engine.sql import spark as sp

            with status("starting Spark…", self.quiet):
                session = sp.session(options["master"])
            try:
                sp.register_parquet(session, self.contacts, self.events)
                if job is not None:
                    sp.register_accounts_parquet(session, job.accounts)
                yield Tables(session, accounts="accounts" if job is not None else None)
            finally:
                session.stop()
            return
        from ..data.io import connect, load_inputs

        con = connect(memory_limit=options["memory_limit"])
        self.inputs = load_inputs(
            self.contacts,
            self.events,
            accounts=job.accounts if job is not None else None,
            id_column=options["id_column"],
            con=con,
            enrich=options["enrich"],
            progress=not self.quiet,
        )
        yield self.inputs

    def warn_orphans(self) -> None:
        inputs = self.inputs
        if inputs is not None and inputs.orphan_events:
            console.print(
                f"[yellow]warning:[/] {inputs.orphan_events} event(s) belong to no contact in "
                f"{self.contacts} and were not scored (contact ids such as "
                f"{', '.join(repr(x) for x in inputs.orphan_examples)})"
            )


def _score(population: _Population, models, source, plan: dict, out, account_out, quiet):
    """Plan and write the scores on the population's engine, with progress; the link
    report (accounts) or None."""
    kind, job = population.kind, population.job
    runs: list[BatchRun] = []

    def work(step=None) -> None:
        if step is not None:
            step(steps[0])
        run = score_batch(models, source, **plan)
        runs.append(run)
        with run:
            run.write(out, account_out, step)

    if kind == "duckdb":
        steps = ["linking and scoring accounts", "writing contacts", "writing accounts"]
        if job is None:
            run_with_progress(source.con, work, quiet)
        else:
            run_with_progress(source.con, work, quiet, steps if job.scored else steps[:2])
    elif kind == "inprocess":
        run = score_batch(models, source, **plan)
        runs.append(run)
        with run, _contact_bar(run, source, quiet):
            run.write(out, account_out)
    else:
        text = "scoring in PostgreSQL…" if kind == "postgres" else "scoring on Spark…"
        with status(text, quiet):
            work()
    return runs[0].report if runs else None


@contextmanager
def _contact_bar(run: Any, inputs: Any, quiet: bool) -> Iterator[None]:
    """A bar over the contacts as the reference evaluator scores them one by one (a
    spinner when accounts are scored with them: the population is scored at once)."""
    if run.accounts:
        with status("scoring contacts and accounts…", quiet):
            yield
        return
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=quiet or inputs.n_contacts < 2000,
    ) as bar:
        task = bar.add_task("scoring", total=inputs.n_contacts)
        run.on_contact = lambda: bar.advance(task)
        yield


def _report(population: _Population, models, report, out, job, top, when, quiet) -> None:
    """What the run printed: warnings, rankings read back from the files, a summary."""
    from ..data.io import connect
    from . import score_report as rep

    kind, inputs = population.kind, population.inputs
    if not quiet:
        con = connect()
        if job is not None:
            rep.link_warnings(report)
            if inputs is not None:
                rep.stale_links(inputs)
        rep.print_rankings(con, out, job.out if job is not None else None, models, top)
        if inputs is not None:
            console.print(
                f"scored {inputs.n_contacts} contacts with {len(models)} model(s) as of "
                f"{when.isoformat()} from {inputs.n_events} events"
                + (f" ({inputs.orphan_events} orphan)" if inputs.orphan_events else "")
                + f" on {kind}",
                markup=False,
            )
        elif kind == "postgres" and job is None:
            rows = rep.count_rows(con, out)
            console.print(
                f"scored {rows} rows in PostgreSQL as of {when.isoformat()}", markup=False
            )
        elif job is not None:
            console.print(f"scored {len(models)} model(s) on {kind} as of {when.isoformat()}")
        if job is not None:
            rep.summary(con, out, job.out if job.scored else None)
    console.print(f"wrote {out}", markup=False)
    if job is not None and job.out is not None:
        console.print(f"wrote {job.out}", markup=False)


def _engine_kind(engine: str) -> str:
    from ..errors import UsageError

    if engine in ("duckdb", "inprocess", "spark"):
        return engine
    if engine.startswith(("postgresql://", "postgres://")):
        return "postgres"
    raise UsageError(
        f"unknown engine {engine!r}; use duckdb, inprocess, spark or a PostgreSQL URL "
        "such as postgresql://user@localhost/crm"
    )


def _print_spark_sql(models, contacts, events, when, as_of_column) -> None:
    """Spark's SQL, with the columns read from the files (no Spark session needed)."""
    import duckdb

    from ..engine.sql import build_query, to_sql
    from ..engine.sql.compiler import Source

    con = duckdb.connect()

    def cols(path):
        literal = "'" + str(path).replace("'", "''") + "'"
        return tuple(d[0] for d in con.execute(f"SELECT * FROM {literal} LIMIT 0").description)

    ccols = cols(contacts)
    idc = "id" if "id" in ccols else "contact_id"
    ccols = ("id", *[c for c in ccols if c != idc])
    ecols = cols(events) if events is not None else ()
    src = Source(contact_columns=ccols, event_columns=ecols, has_events=events is not None)
    print(
        to_sql(
            build_query(models, "spark", src, as_of=when, as_of_column=as_of_column),
            "spark",
            pretty=True,
        )
    )


def register(app: typer.Typer) -> None:
    app.command("score")(score)

"""``leadscore score``: score every contact in a file and write the result."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from ..data.io import load_inputs, output_format, write_relation, write_rows
from ..engine.inprocess import score_contact
from ..model import ScoringModel
from .common import console, fmt_score, load_models, parse_as_of

ENGINES = ("duckdb", "inprocess", "spark", "postgresql://…")


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
        _ranking_table(mine[:top], model, top, len(mine))
        stages = _stage_counts(mine)
        console.print(
            "stages: " + ", ".join(f"{k} {v}" for k, v in sorted(stages.items())), markup=False
        )


def _ranking_table(best: list[dict], model: ScoringModel, top: int, total: int) -> None:
    table = Table(
        title=f"Top {min(top, total)} of {total} — {escape(model.name)}",
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
    for i, r in enumerate(best[:top], start=1):
        stage = stage_cell(r, model.default_stage)
        table.add_row(
            str(i),
            escape(str(r["contact_id"])),
            *(fmt_score(r[g]) for g in model.groups),
            fmt_score(r["total"]),
            r["grade"] or "",
            stage,
        )
    console.print(table)


def stage_cell(row: dict, default_stage: str | None) -> str:
    """A ranking's stage cell: the exclusion in red, a stage above the default in green
    (text printed literally, never read as markup)."""
    stage = row["stage"] or ""
    if row["excluded"]:
        return f"[red]excluded: {escape(row['exclusion_reason'] or '')}[/]"
    if stage and stage != default_stage:
        return f"[bold green]{escape(stage)}[/]"
    return escape(stage)


def _stage_counts(rows: list[dict]) -> dict[str, int]:
    stages: dict[str, int] = {}
    for r in rows:
        key = "excluded" if r["excluded"] else (r["stage"] or "(none)")
        stages[key] = stages.get(key, 0) + 1
    return stages


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
        None, "--memory-limit", help="DuckDB memory limit, e.g. 1GB (spills to disk beyond)."
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
    from .score_report import stale_links as report_stale_links

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
    if job is not None and kind in ("postgres", "spark"):
        acc.score_elsewhere(
            job, kind, models, engine, contacts, events, when, master,
            contacts_table, events_table, out, show_sql, top, quiet,
        )  # fmt: skip
        return
    if kind == "postgres":
        _score_postgres(
            models,
            engine,
            when,
            as_of_column,
            contacts_table,
            events_table,
            out,
            show_sql,
            top,
            quiet,
        )
        return
    if kind == "spark":
        _score_spark(
            models, contacts, events, when, as_of_column, master, out, show_sql, top, quiet
        )
        return
    from ..data.io import connect

    con = connect(memory_limit=memory_limit)
    inputs = load_inputs(
        contacts,
        events,
        accounts=job.accounts if job is not None else None,
        id_column=id_column,
        con=con,
        enrich=enrich,
        progress=not quiet,
    )
    if show_sql:
        from ..engine.sql.duckdb import query_sql

        if job is not None:
            acc.show_duckdb_sql(models, con, when)
            return
        print(query_sql(models, con, as_of=when, as_of_column=as_of_column, pretty=True))
        return
    if inputs.orphan_events:
        console.print(
            f"[yellow]warning:[/] {inputs.orphan_events} event(s) belong to no contact in "
            f"{contacts} and were not scored (contact ids such as "
            f"{', '.join(repr(x) for x in inputs.orphan_examples)})"
        )
    if job is not None:
        score_with = acc.score_inprocess if kind == "inprocess" else acc.score_duckdb
        report = score_with(job, models, inputs, when, out, quiet)
        if not quiet:
            acc.link_warnings(report)
            report_stale_links(inputs)
            acc.print_rankings(con, out, job.out, models, top)
    elif kind == "inprocess":
        if as_of_column is not None:
            raise UsageError("--as-of-column needs a SQL engine (duckdb, postgresql, spark)")
        rows = score_inprocess(models, inputs, when, progress=not quiet)
        write_rows(inputs.con, rows, output_columns(models), out)
        if not quiet:
            print_ranking(rows, models, top)
    else:
        from ..engine.sql.duckdb import query_sql

        sql = query_sql(models, con, as_of=when, as_of_column=as_of_column)
        _run_with_progress(con, lambda: write_relation(con, sql, out), quiet)
        if not quiet:
            _print_ranking_from_file(con, out, models, top)
    if not quiet:
        console.print(
            f"scored {inputs.n_contacts} contacts with {len(models)} model(s) as of "
            f"{when.isoformat()} from {inputs.n_events} events"
            + (f" ({inputs.orphan_events} orphan)" if inputs.orphan_events else "")
            + f" on {kind}",
            markup=False,
        )
        if job is not None:
            acc.summary(con, out, job.out if job.scored else None)
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


def _run_with_progress(con, work, quiet: bool, steps: list[str] | None = None) -> None:
    """Run DuckDB work in a thread and show its progress (DuckDB reports it per query).

    With ``steps``, ``work`` is called with a function it calls with each step's name as
    it starts one; the bar then follows the steps (each step's queries within it)."""
    import threading

    failure: list[BaseException] = []
    names = steps or ["scoring"]
    current = [0]

    def step(name: str) -> None:
        current[0] = names.index(name)

    def target() -> None:
        try:
            if steps:
                work(step)
            else:
                work()
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        "[progress.percentage]{task.percentage:>3.0f}%",
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=quiet,
    ) as bar:
        task = bar.add_task(names[0], total=100)
        share = 100 / len(names)
        thread.start()
        while thread.is_alive():
            thread.join(0.2)
            try:
                done = con.query_progress()
            except Exception:  # the query finished between the two calls
                done = -1
            i = current[0]
            bar.update(task, description=names[i])
            if done >= 0:
                bar.update(task, completed=share * i + share * done / 100)
        bar.update(task, completed=100)
    if failure:
        raise failure[0]


def _print_ranking_from_file(con, out: Path, models: list[ScoringModel], top: int) -> None:
    """The ranking table and stage counts, read back from the written scores with SQL."""
    reader = {"CSV": "read_csv", "PARQUET": "read_parquet", "JSON": "read_json"}[output_format(out)]
    literal = "'" + str(out).replace("'", "''") + "'"
    for model in models:
        name = model.name.replace("'", "''")
        cur = con.execute(
            f"SELECT * FROM {reader}({literal}) WHERE model = '{name}' "
            f"ORDER BY total DESC, contact_id LIMIT {int(top)}"
        )
        cols = [d[0] for d in cur.description]
        best = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
        counts = con.execute(
            f"SELECT CASE WHEN CAST(excluded AS BOOLEAN) THEN 'excluded' "
            f"ELSE coalesce(stage, '(none)') END, count(*) FROM {reader}({literal}) "
            f"WHERE model = '{name}' GROUP BY 1 ORDER BY 1"
        ).fetchall()
        total = sum(n for _, n in counts)
        for r in best:
            r["excluded"] = str(r["excluded"]).lower() == "true"
            for g in [*model.groups, "total"]:
                r[g] = None if r[g] is None else float(r[g])
        _ranking_table(best, model, top, total)
        console.print("stages: " + ", ".join(f"{k} {v}" for k, v in counts), markup=False)


def _score_postgres(
    models, url, when, as_of_column, contacts_table, events_table, out, show_sql, top, quiet
) -> None:
    from ..data.io import connect
    from ..engine.sql import postgres

    conn = postgres.connect(url)
    try:
        postgres.check_server(conn)
        if show_sql:
            print(
                postgres.query_sql(
                    models,
                    conn,
                    as_of=when,
                    as_of_column=as_of_column,
                    contacts=contacts_table,
                    events=events_table,
                    pretty=True,
                )
            )
            return
        with console.status("scoring in PostgreSQL…", spinner="dots") if not quiet else _nothing():
            rows = postgres.score_rows(
                models,
                conn,
                as_of=when,
                as_of_column=as_of_column,
                contacts=contacts_table,
                events=events_table,
            )
    finally:
        conn.close()
    write_rows(connect(), rows, output_columns(models), out)
    if not quiet:
        print_ranking(rows, models, top)
        console.print(
            f"scored {len(rows)} rows in PostgreSQL as of {when.isoformat()}", markup=False
        )
    console.print(f"wrote {out}", markup=False)


def _score_spark(
    models, contacts, events, when, as_of_column, master, out, show_sql, top, quiet
) -> None:
    from ..errors import UsageError

    if show_sql:
        _print_spark_sql(models, contacts, events, when, as_of_column)
        return
    for path in (contacts, events):
        if path is not None and path.suffix.lower() not in (".parquet", ".pq"):
            raise UsageError(f"--engine spark reads Parquet; {str(path)!r} is not .parquet")
    if out.suffix.lower() not in (".parquet", ".pq"):
        raise UsageError(f"--engine spark writes Parquet; use --out NAME.parquet, not {out}")
    from ..engine.sql import spark as sp

    with console.status("starting Spark…", spinner="dots") if not quiet else _nothing():
        session = sp.session(master)
    try:
        sp.register_parquet(session, contacts, events)
        with console.status("scoring on Spark…", spinner="dots") if not quiet else _nothing():
            frame = sp.score_frame(models, session, as_of=when, as_of_column=as_of_column)
            frame.write.mode("overwrite").parquet(str(out))
    finally:
        session.stop()
    if not quiet:
        from ..data.io import connect

        con = connect()
        con.execute(
            "CREATE VIEW __out AS SELECT * FROM read_parquet("
            + "'"
            + str(out).replace("'", "''")
            + "/*.parquet')"
        )
        for model in models:
            best = con.execute(
                "SELECT * FROM __out WHERE model = ? ORDER BY total DESC, contact_id LIMIT ?",
                [model.name, top],
            )
            cols = [d[0] for d in best.description]
            rows = [dict(zip(cols, r, strict=True)) for r in best.fetchall()]
            n = con.execute("SELECT count(*) FROM __out WHERE model = ?", [model.name]).fetchone()
            _ranking_table(rows, model, top, n[0])
    console.print(f"wrote {out}", markup=False)


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


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def register(app: typer.Typer) -> None:
    app.command("score")(score)

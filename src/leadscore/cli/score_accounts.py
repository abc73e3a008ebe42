"""``leadscore score --accounts``: contacts and their accounts scored together.

:func:`plan` checks the account options against the models and the engine (and
warns where accounts are given but unused, or used but not given); the
``score_*`` functions run one engine: the contacts file gets an ``account_id``
column and the accounts go to their own file, with the columns of
:func:`leadscore.engine.sql.accounts.account_output_columns` on every engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..data.io import check_readable, output_format, write_relation
from ..engine.linking import LinkReport
from ..engine.sql.accounts import account_output_columns, contact_output_columns, uses_accounts
from ..errors import UsageError
from ..model import ScoringModel
from .common import console
from .score_report import link_warnings, print_rankings, print_sql, summary, warn

if TYPE_CHECKING:
    from ..data.io import Inputs

Models = list[ScoringModel]

ACCOUNT_MARK = "accounts"  # scores.parquet → scores.accounts.parquet
__all__ = ["AccountJob", "link_warnings", "plan", "print_rankings", "summary"]


@dataclass
class AccountJob:
    """Where the accounts come from (a file, or a PostgreSQL table) and go."""

    accounts: Path | None
    table: str | None
    out: Path | None  # None with --show-sql
    scored: bool = True  # False when no model has an account: section (links only)


def default_out(out: Path) -> Path:
    """``scores.parquet`` → ``scores.accounts.parquet`` (same folder, same extension)."""
    return out.with_name(f"{out.stem}.{ACCOUNT_MARK}{out.suffix}")


def plan(
    kind: str,
    models: list[ScoringModel],
    *,
    accounts: Path | None,
    table: str | None,
    accounts_out: Path | None,
    as_of_column: str | None,
    out: Path | None,
    show_sql: bool,
) -> AccountJob | None:
    """The account part of a ``score`` run, or None to score contacts only (as without
    accounts). Refuses what cannot work before any work is done."""
    if kind == "postgres" and accounts is not None:
        raise UsageError(
            "with a PostgreSQL engine the accounts are a table in the database: "
            "use --accounts-table NAME instead of --accounts FILE"
        )
    if kind != "postgres" and table is not None:
        raise UsageError(
            "--accounts-table is for --engine postgresql://…; with files, give the accounts "
            "with --accounts FILE"
        )
    given = accounts is not None or table is not None
    readers = [m.name for m in models if m.account is not None or m.account_use.reads_account]
    if not given:
        if accounts_out is not None:
            raise UsageError(
                "--accounts-out needs accounts to score: give them with --accounts FILE "
                "(or --accounts-table NAME with PostgreSQL)"
            )
        if readers:
            how = "--accounts-table NAME" if kind == "postgres" else "--accounts FILE"
            warn(
                f"model(s) {', '.join(map(repr, readers))} score accounts or read account "
                f"fields, but no accounts were given: every account.<field> is missing and "
                f"no account is scored; give the accounts with {how} (id, domain and "
                "properties; contacts link by account_id or e-mail domain)"
            )
        return None
    if as_of_column is not None:
        raise UsageError(
            "--accounts scores every contact and account as of one time: drop "
            "--as-of-column (use --as-of), or score the contacts alone with --as-of-column"
        )
    where = str(accounts) if accounts is not None else f"table {table!r}"
    if not uses_accounts(models):
        warn(
            f"no model has an 'account:' section or reads account fields: the accounts in "
            f"{where} are not used, and the contacts are scored as without them"
            + (" (no accounts file is written)" if accounts_out is not None else "")
        )
        return None
    if accounts is not None:
        check_readable(accounts)
        if kind == "spark" and not show_sql and accounts.suffix.lower() not in (".parquet", ".pq"):
            raise UsageError(
                f"--engine spark reads Parquet; the accounts {str(accounts)!r} are not .parquet"
            )
    scored = any(m.account is not None for m in models)
    if not scored and accounts_out is not None:
        warn(
            "no model has an 'account:' section, so no account is scored and no accounts "
            f"file is written to {accounts_out}; the contacts still link to their accounts"
        )
    target = None
    if scored and not show_sql:
        assert out is not None
        target = accounts_out if accounts_out is not None else default_out(out)
        output_format(target)  # a bad extension is refused now
        if kind == "spark" and target.suffix.lower() not in (".parquet", ".pq"):
            raise UsageError(
                f"--engine spark writes Parquet; use --accounts-out NAME.parquet, not {target}"
            )
        if target.resolve() == out.resolve():
            raise UsageError(
                f"--accounts-out {target} is the contacts' --out: give the accounts a file "
                "of their own"
            )
    return AccountJob(accounts, table, target, scored)


# ----------------------------------------------------------------------------- writing rows

_NUMBERS = ("total",)
_INTEGERS = ("rules_fired", "contacts")


def write_rows(con, rows: list[dict], columns: list[str], groups: list[str], path: Path) -> None:
    """Python rows written with the SQL engines' column types (groups and totals as
    doubles, counts as 64-bit integers, ``excluded`` as a boolean, the rest text)."""
    import pyarrow as pa

    def kind(c: str):
        if c in groups or c in _NUMBERS:
            return pa.float64()
        if c in _INTEGERS:
            return pa.int64()
        if c == "excluded":
            return pa.bool_()
        return pa.string()

    table = pa.table({c: pa.array([r.get(c) for r in rows], kind(c)) for c in columns})
    con.register("__account_rows", table)
    try:
        write_relation(con, "SELECT * FROM __account_rows", path)
    finally:
        con.unregister("__account_rows")


def _groups(models) -> list[str]:
    from ..engine.sql import group_columns

    return group_columns(models)


def _account_groups(models) -> list[str]:
    from ..engine.sql.accounts import account_group_columns

    return account_group_columns(models)


# ----------------------------------------------------------------------------- engines


def score_duckdb(
    job: AccountJob, models: Models, inputs: Inputs, when: datetime, out: Path, quiet: bool
) -> LinkReport:
    """The account plan on the connection of ``inputs``; both files written."""
    from ..engine.sql.duckdb import prepare_accounts
    from .score import _run_with_progress

    runs = []
    steps = ["linking and scoring accounts", "writing contacts", "writing accounts"]

    def work(step) -> None:
        step(steps[0])
        run = prepare_accounts(models, inputs.con, as_of=when)
        runs.append(run)
        try:
            step(steps[1])
            write_relation(inputs.con, run.contacts_sql, out)
            if run.accounts_sql is not None:
                step(steps[2])
                write_relation(inputs.con, run.accounts_sql, job.out)
        finally:
            run.drop(inputs.con)

    _run_with_progress(inputs.con, work, quiet, steps=steps if job.scored else steps[:2])
    return runs[0].report


def show_duckdb_sql(models: Models, con, when: datetime) -> None:
    from ..engine.sql.duckdb import prepare_accounts

    print_sql(prepare_accounts(models, con, as_of=when, pretty=True, execute=False).statements)


def score_inprocess(
    job: AccountJob, models: Models, inputs: Inputs, when: datetime, out: Path, quiet: bool
) -> LinkReport:
    """The reference evaluator over the whole population, model by model."""
    from ..engine.accounts import score_population
    from ..engine.linking import AccountIndex
    from .score import _nothing

    with (
        console.status("scoring contacts and accounts…", spinner="dots")
        if not quiet
        else (_nothing())
    ):
        index = AccountIndex(inputs.account_rows())
        people = list(inputs.contact_rows())
        contacts: list[dict] = []
        accounts: list[dict] = []
        for model in models:
            pop = score_population(model, people, index, as_of=when)
            for result in pop.contacts:
                row = result.row()
                row["account_id"] = pop.links[str(result.contact_id)]
                contacts.append(row)
            accounts += [a.row() for a in pop.accounts]
        contacts.sort(key=lambda r: (r["contact_id"], r["model"]))
        accounts.sort(key=lambda r: (r["account_id"], r["model"]))
        write_rows(inputs.con, contacts, contact_output_columns(models), _groups(models), out)
        if job.scored:
            columns = account_output_columns(models)
            write_rows(inputs.con, accounts, columns, _account_groups(models), job.out)
    return index.report


def score_postgres(
    job: AccountJob,
    models: Models,
    url: str,
    when: datetime,
    contacts_table: str,
    events_table: str,
    out: Path | None,
    show_sql: bool,
    quiet: bool,
) -> LinkReport | None:
    """The account plan in the database; the rows come back and are written here."""
    from ..data.io import connect
    from ..engine.sql import postgres
    from .score import _nothing

    conn = postgres.connect(url)
    names = dict(contacts=contacts_table, events=events_table, accounts=job.table)
    try:
        postgres.check_server(conn)
        if show_sql:
            run = postgres.prepare_accounts(
                models, conn, as_of=when, pretty=True, execute=False, **names
            )
            print_sql(run.statements)
            return None
        status = console.status("scoring in PostgreSQL…", spinner="dots")
        with status if not quiet else _nothing():
            run = postgres.prepare_accounts(models, conn, as_of=when, **names)
            try:
                got = []
                for sql in (run.contacts_sql, run.accounts_sql):
                    if sql is None:
                        got.append([])
                        continue
                    cur = conn.execute(sql)
                    cols = [c.name for c in cur.description]
                    got.append([dict(zip(cols, r, strict=True)) for r in cur.fetchall()])
            finally:
                for name in reversed(run.tables):
                    conn.execute(f'DROP TABLE IF EXISTS "{name}"')
    finally:
        conn.close()
    con = connect()
    write_rows(con, got[0], contact_output_columns(models), _groups(models), out)
    if job.scored:
        write_rows(con, got[1], account_output_columns(models), _account_groups(models), job.out)
    return run.report


def score_spark(
    job: AccountJob,
    models: Models,
    contacts: Path,
    events: Path | None,
    when: datetime,
    master: str,
    out: Path,
    quiet: bool,
) -> LinkReport:
    """The account plan on Spark: Parquet in, two Parquet folders out."""
    from ..engine.sql import spark as sp

    for path in (contacts, events):
        if path is not None and path.suffix.lower() not in (".parquet", ".pq"):
            raise UsageError(f"--engine spark reads Parquet; {str(path)!r} is not .parquet")
    if out.suffix.lower() not in (".parquet", ".pq"):
        raise UsageError(f"--engine spark writes Parquet; use --out NAME.parquet, not {out}")
    from .score import _nothing

    def status(text: str):
        return _nothing() if quiet else console.status(text, spinner="dots")

    with status("starting Spark…"):
        session = sp.session(master)
    try:
        sp.register_parquet(session, contacts, events)
        sp.register_accounts_parquet(session, job.accounts)
        session.conf.set("spark.sql.session.timeZone", "UTC")
        with status("scoring on Spark…"):
            run = sp.prepare_accounts(models, session, as_of=when)
            try:
                session.sql(run.contacts_sql).write.mode("overwrite").parquet(str(out))
                if run.accounts_sql is not None:
                    frame = session.sql(run.accounts_sql)
                    frame.write.mode("overwrite").parquet(str(job.out))
            finally:
                sp.drop_views(session, run.tables)
    finally:
        session.stop()
    return run.report


def show_spark_sql(
    models: Models, contacts: Path, events: Path | None, accounts: Path, when: datetime
) -> None:
    """Spark's account plan, with the columns read from the files (no Spark session)."""
    import duckdb

    from ..engine.sql.accounts import AccountTables, build_plan
    from ..engine.sql.compiler import Source

    con = duckdb.connect()

    def cols(path: Path) -> tuple[str, ...]:
        literal = "'" + str(path).replace("'", "''") + "'"
        return tuple(d[0] for d in con.execute(f"SELECT * FROM {literal} LIMIT 0").description)

    def with_id(names: tuple[str, ...], ids: tuple[str, ...]) -> tuple[str, ...]:
        idc = next((c for c in ids if c in names), ids[0])
        return ("id", *[c for c in names if c != idc])

    src = Source(
        contact_columns=with_id(cols(contacts), ("id", "contact_id")),
        event_columns=cols(events) if events is not None else (),
        has_events=events is not None,
    )
    tables = AccountTables("accounts", with_id(cols(accounts), ("id", "account_id")))
    print_sql(build_plan(models, "spark", src, tables, as_of=when).statements("spark", pretty=True))


def score_elsewhere(
    job: AccountJob,
    kind: str,
    models: Models,
    url: str,
    contacts: Path | None,
    events: Path | None,
    when: datetime,
    master: str,
    contacts_table: str,
    events_table: str,
    out: Path | None,
    show_sql: bool,
    top: int,
    quiet: bool,
) -> None:
    """Accounts on PostgreSQL (tables) or Spark (Parquet): score, rank, summarise."""
    from ..data.io import connect

    if kind == "postgres":
        report = score_postgres(
            job, models, url, when, contacts_table, events_table, out, show_sql, quiet
        )
        if report is None:  # --show-sql
            return
    elif show_sql:
        show_spark_sql(models, contacts, events, job.accounts, when)
        return
    else:
        report = score_spark(job, models, contacts, events, when, master, out, quiet)
    con = connect()
    if not quiet:
        link_warnings(report)
        print_rankings(con, out, job.out, models, top)
        console.print(f"scored {len(models)} model(s) on {kind} as of {when.isoformat()}")
        summary(con, out, job.out if job.scored else None)
    console.print(f"wrote {out}", markup=False)
    if job.out is not None:
        console.print(f"wrote {job.out}", markup=False)

"""Run the compiled query on PostgreSQL, over contacts and events tables in a database.

Tables hold one row per contact (``id`` plus property columns) and one row per
event (``contact_id``, ``event_id``, ``type``, ``ts`` plus attribute columns);
any column type is read as text, ``ts`` must be a timestamp (UTC when it has no
zone). Lower-casing uses the ICU collation ``und-x-icu`` so that it matches
Python's; PostgreSQL must be built with ICU (Debian, Ubuntu and the official
images are).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ...errors import DataError, UsageError
from ...model.schema import ScoringModel
from .accounts import AccountRun
from .base import Source
from .query import build_query, to_sql

if TYPE_CHECKING:
    from psycopg import Connection, Cursor
    from psycopg.rows import TupleRow

    PgConnection = Connection[TupleRow]

MIN_VERSION = 140000  # EXTRACT(EPOCH ...) exact numeric


def connect(url: str) -> PgConnection:
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover
        raise UsageError("PostgreSQL scoring needs psycopg: pip install 'psycopg[binary]'") from exc
    try:
        conn = psycopg.connect(url, autocommit=True)
    except psycopg.Error as exc:
        raise UsageError(f"cannot connect to {_safe(url)}: {str(exc).strip()}") from None
    conn.execute("SET TIME ZONE 'UTC'")
    return conn


def _safe(url: str) -> str:
    """The URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}@{host}"
    return url


def _columns(conn: PgConnection, table: str) -> tuple[str, ...]:
    schema, _, name = table.rpartition(".")
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
        "AND table_schema = COALESCE(NULLIF(%s, ''), current_schema()) ORDER BY ordinal_position",
        (name, schema),
    ).fetchall()
    return tuple(r[0] for r in rows)


def source_of(
    conn: PgConnection, contacts: str = "contacts", events: str | None = "events"
) -> Source:
    ccols = _columns(conn, contacts)
    if not ccols:
        raise DataError(
            f"no table {contacts!r} in the database",
            hint="give the contacts table with --contacts-table",
        )
    if "id" not in ccols:
        raise DataError(
            f"table {contacts!r} has no 'id' column; the columns are: " + ", ".join(ccols),
            hint="every contact needs an id",
        )
    ecols = _columns(conn, events) if events else ()
    if events and not ecols:
        raise DataError(
            f"no table {events!r} in the database", hint="give the events table with --events-table"
        )
    missing = [c for c in ("contact_id", "type", "ts") if ecols and c not in ecols]
    if missing:
        raise DataError(f"table {events!r} lacks column(s) {', '.join(missing)}")
    if ecols and "event_id" not in ecols:
        raise DataError(
            f"table {events!r} has no 'event_id' column",
            hint="add it (NULL where events have no idempotency key)",
        )
    return Source(
        contacts_table=contacts,
        events_table=events or "events",
        contact_columns=ccols,
        event_columns=ecols,
        has_events=bool(ecols),
        cast_text=True,
    )


def dict_rows(cur: Cursor[TupleRow]) -> list[dict[str, Any]]:
    """A query's rows as dicts by column name."""
    assert cur.description is not None  # a query's cursor describes its columns
    names = [c.name for c in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def check_server(conn: PgConnection) -> None:
    shown = conn.execute("SHOW server_version_num").fetchone()
    assert shown is not None  # SHOW gives one row
    version = shown[0]
    if int(version) < MIN_VERSION:
        raise UsageError(f"PostgreSQL {version} is too old: batch scoring needs 14 or later")
    icu = conn.execute("SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu'").fetchone()
    if icu is None:
        raise UsageError(
            "this PostgreSQL has no ICU collation 'und-x-icu', needed to lower-case text "
            "as Python does; use a server built with ICU"
        )


def query_sql(
    models: ScoringModel | Sequence[ScoringModel],
    conn: PgConnection,
    *,
    as_of: datetime | str,
    as_of_column: str | None = None,
    contacts: str = "contacts",
    events: str | None = "events",
    pretty: bool = False,
) -> str:
    src = source_of(conn, contacts, events)
    if as_of_column is not None and as_of_column not in src.contact_columns:
        raise UsageError(f"table {contacts!r} has no column {as_of_column!r}")
    query = build_query(models, "postgres", src, as_of=as_of, as_of_column=as_of_column)
    return to_sql(query, "postgres", pretty=pretty)


def score_rows(
    models: ScoringModel | Sequence[ScoringModel],
    url_or_conn: str | PgConnection,
    *,
    as_of: datetime | str,
    as_of_column: str | None = None,
    contacts: str = "contacts",
    events: str | None = "events",
) -> list[dict[str, Any]]:
    """Score in the database; the rows come back in ScoreResult.row() shape."""
    conn = connect(url_or_conn) if isinstance(url_or_conn, str) else url_or_conn
    try:
        check_server(conn)
        sql = query_sql(
            models, conn, as_of=as_of, as_of_column=as_of_column, contacts=contacts, events=events
        )
        return dict_rows(conn.execute(sql))
    finally:
        if isinstance(url_or_conn, str):
            conn.close()


# ----------------------------------------------------------------------------- accounts


def prepare_accounts(
    models: ScoringModel | Sequence[ScoringModel],
    conn: PgConnection,
    *,
    as_of: datetime | str,
    contacts: str = "contacts",
    events: str | None = "events",
    accounts: str = "accounts",
    pretty: bool = False,
    execute: bool = True,
) -> AccountRun:
    """The account plan on PostgreSQL: its temporary tables made (unless ``execute`` is
    false, for ``--show-sql``) and the two queries left to read."""
    from .accounts import DOMAINS_TABLE, AccountTables, build_plan, index_from_rows

    src = source_of(conn, contacts, events)
    columns = _columns(conn, accounts)
    if not columns:
        raise DataError(
            f"no table {accounts!r} in the database",
            hint="give the accounts table with --accounts-table",
        )
    if "id" not in columns:
        raise DataError(
            f"table {accounts!r} has no 'id' column; the columns are: " + ", ".join(columns),
            hint="every account needs an id",
        )
    domain = '"domain"::text' if "domain" in columns else "NULL"
    rows = conn.execute(f'SELECT "id"::text, {domain} FROM {_quoted(accounts)}').fetchall()
    index = index_from_rows(rows, accounts)
    plan = build_plan(models, "postgres", src, AccountTables(accounts, columns), as_of=as_of)
    made: list[str] = []
    if execute:
        conn.execute(f"DROP TABLE IF EXISTS {DOMAINS_TABLE}")
        conn.execute(f"CREATE TEMPORARY TABLE {DOMAINS_TABLE} (domain text, account_id text)")
        with conn.cursor() as cur, cur.copy(f"COPY {DOMAINS_TABLE} FROM STDIN") as cp:
            for row in index.domain_rows():
                cp.write_row(row)
        made.append(DOMAINS_TABLE)
        for name, query in plan.steps:
            conn.execute(f'DROP TABLE IF EXISTS "{name}"')
            conn.execute(f'CREATE TEMPORARY TABLE "{name}" AS {query.sql(dialect="postgres")}')
            made.append(name)
    statements = [] if execute else plan.statements("postgres", pretty=pretty)
    assert plan.contacts is not None  # build_plan always gives the contacts query
    run = AccountRun(
        plan.contacts.sql(dialect="postgres", pretty=pretty),
        None if plan.accounts is None else plan.accounts.sql(dialect="postgres", pretty=pretty),
        index.report,
        made,
    )
    run.statements = statements
    return run


def _quoted(table: str) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in table.split("."))


def score_account_rows(
    models: ScoringModel | Sequence[ScoringModel],
    url_or_conn: str | PgConnection,
    *,
    as_of: datetime | str,
    contacts: str = "contacts",
    events: str | None = "events",
    accounts: str = "accounts",
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Contact rows (with ``account_id``) and account rows, scored in the database."""
    conn = connect(url_or_conn) if isinstance(url_or_conn, str) else url_or_conn
    try:
        check_server(conn)
        run = prepare_accounts(
            models, conn, as_of=as_of, contacts=contacts, events=events, accounts=accounts
        )
        out = [
            [] if sql is None else dict_rows(conn.execute(sql))
            for sql in (run.contacts_sql, run.accounts_sql)
        ]
        for name in reversed(run.tables):
            conn.execute(f'DROP TABLE IF EXISTS "{name}"')
        return out[0], out[1]
    finally:
        if isinstance(url_or_conn, str):
            conn.close()

"""Run the compiled query on DuckDB, the default engine."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from duckdb import DuckDBPyConnection, DuckDBPyRelation

from ...model.schema import ScoringModel
from ..linking import AccountIndex
from .accounts import AccountRun
from .base import Source
from .query import build_query, to_sql


def _columns(con: DuckDBPyConnection, table: str) -> tuple[str, ...]:
    return tuple(r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall())


def source_of(
    con: DuckDBPyConnection, contacts: str = "contacts", events: str = "events"
) -> Source:
    """Describe the contacts and events tables (or views) of a connection."""
    tables = {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    has_events = events in tables
    return Source(
        contacts_table=contacts,
        events_table=events,
        contact_columns=_columns(con, contacts),
        event_columns=_columns(con, events) if has_events else (),
        has_events=has_events,
    )


def query_sql(
    models: ScoringModel | Sequence[ScoringModel],
    con: DuckDBPyConnection,
    *,
    as_of: datetime | str,
    as_of_column: str | None = None,
    pretty: bool = False,
    contacts: str = "contacts",
    events: str = "events",
) -> str:
    """The DuckDB SQL that scores the contacts and events of ``con``."""
    src = source_of(con, contacts, events)
    _check_as_of_column(src, as_of_column)
    return to_sql(
        build_query(models, "duckdb", src, as_of=as_of, as_of_column=as_of_column),
        "duckdb",
        pretty=pretty,
    )


def _check_as_of_column(src: Source, as_of_column: str | None) -> None:
    if as_of_column is not None and as_of_column not in src.contact_columns:
        from ...errors import UsageError

        raise UsageError(
            f"contacts have no column {as_of_column!r} for per-contact as-of times; "
            f"the columns are: {', '.join(src.contact_columns)}"
        )


def score_relation(
    models: ScoringModel | Sequence[ScoringModel],
    con: DuckDBPyConnection,
    *,
    as_of: datetime | str,
    as_of_column: str | None = None,
    contacts: str = "contacts",
    events: str = "events",
) -> DuckDBPyRelation:
    """A DuckDB relation with the scores (nothing computed until it is read)."""
    con.execute("SET TimeZone = 'UTC'")
    sql = query_sql(
        models, con, as_of=as_of, as_of_column=as_of_column, contacts=contacts, events=events
    )
    return con.sql(sql)


def score_rows(
    models: ScoringModel | Sequence[ScoringModel],
    con: DuckDBPyConnection,
    *,
    as_of: datetime | str,
    as_of_column: str | None = None,
    contacts: str = "contacts",
    events: str = "events",
) -> list[dict[str, Any]]:
    rel = score_relation(
        models, con, as_of=as_of, as_of_column=as_of_column, contacts=contacts, events=events
    )
    cols = rel.columns
    return [dict(zip(cols, row, strict=True)) for row in rel.fetchall()]


# ----------------------------------------------------------------------------- accounts


def account_source(
    con: DuckDBPyConnection, accounts: str = "accounts"
) -> tuple[tuple[str, ...], AccountIndex]:
    """The accounts table's columns and the index of its ids and domains."""
    from ...errors import DataError
    from .accounts import index_from_rows

    tables = {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    if accounts not in tables:
        raise DataError(f"no accounts table {accounts!r}", hint="load the accounts first")
    columns = _columns(con, accounts)
    domain = '"domain"' if "domain" in columns else "NULL"
    rows = con.execute(f'SELECT CAST("id" AS VARCHAR), {domain} FROM "{accounts}"').fetchall()
    return columns, index_from_rows(rows, accounts)


def prepare_accounts(
    models: ScoringModel | Sequence[ScoringModel],
    con: DuckDBPyConnection,
    *,
    as_of: datetime | str,
    contacts: str = "contacts",
    events: str = "events",
    accounts: str = "accounts",
    pretty: bool = False,
    execute: bool = True,
) -> AccountRun:
    """Make the account steps' temporary tables (unless ``execute`` is false: then the
    run only carries the statements, for ``--show-sql``); the scores are read from the
    run's two queries, and :meth:`AccountRun.drop` removes the tables."""
    import pyarrow as pa

    from .accounts import DOMAINS_TABLE, AccountTables, build_plan

    con.execute("SET TimeZone = 'UTC'")
    src = source_of(con, contacts, events)
    columns, index = account_source(con, accounts)
    plan = build_plan(models, "duckdb", src, AccountTables(accounts, columns), as_of=as_of)
    assert plan.contacts is not None  # build_plan always gives the contacts query
    run = AccountRun(
        plan.contacts.sql(dialect="duckdb", pretty=pretty),
        None if plan.accounts is None else plan.accounts.sql(dialect="duckdb", pretty=pretty),
        index.report,
        [],
    )
    if not execute:
        run.statements = plan.statements("duckdb", pretty=pretty)
        return run
    rows = index.domain_rows()
    domains = pa.table(
        {
            "domain": pa.array([d for d, _ in rows], pa.string()),
            "account_id": pa.array([a for _, a in rows], pa.string()),
        }
    )
    con.register("__ls_domain_rows", domains)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {DOMAINS_TABLE} AS SELECT * FROM __ls_domain_rows")
    con.unregister("__ls_domain_rows")
    run.tables.append(DOMAINS_TABLE)
    for name, query in plan.steps:
        con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {query.sql(dialect="duckdb")}')
        run.tables.append(name)
    return run


def score_account_rows(
    models: ScoringModel | Sequence[ScoringModel],
    con: DuckDBPyConnection,
    *,
    as_of: datetime | str,
    contacts: str = "contacts",
    events: str = "events",
    accounts: str = "accounts",
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Contact rows (with ``account_id``) and account rows, as Python dicts."""
    run = prepare_accounts(
        models, con, as_of=as_of, contacts=contacts, events=events, accounts=accounts
    )
    try:
        out: list[list[dict[str, Any]]] = []
        for sql in (run.contacts_sql, run.accounts_sql):
            if sql is None:
                out.append([])
                continue
            rel = con.sql(sql)
            cols = rel.columns
            out.append([dict(zip(cols, row, strict=True)) for row in rel.fetchall()])
        return out[0], out[1]
    finally:
        run.drop(con)

"""One entry point for batch scoring: every engine, contacts alone or with accounts.

``score_batch`` plans the scoring of a whole population on one engine and returns
a :class:`BatchRun` to read (``rows()``), write (``write(out, accounts_out)``) or
show (``statements()``, what ``--show-sql`` prints). The command line, the
backtests' population scoring and Python users all come here, so an engine is
wired in one place:

>>> from leadscore.data.io import load_inputs                      # doctest: +SKIP
>>> inputs = load_inputs("contacts.parquet", "events.parquet")     # doctest: +SKIP
>>> with score_batch([model], inputs, as_of="2026-01-01") as run:  # doctest: +SKIP
...     run.write("scores.parquet")

The population is given per engine:

* ``duckdb`` and ``inprocess``: the :class:`~leadscore.data.io.Inputs` of
  ``load_inputs`` (its DuckDB tables ``contacts``, ``events`` and ``accounts``);
* ``postgres``: :class:`Tables` with a psycopg connection (or a URL) and the
  table names;
* ``spark``: :class:`Tables` with a SparkSession whose temporary views hold them.

Every engine gives the same scores (the differential tests hold them together).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..errors import UsageError
from ..model.schema import ScoringModel
from .linking import LinkReport

if TYPE_CHECKING:
    import pyarrow as pa
    from duckdb import DuckDBPyConnection
    from pyspark.sql import DataFrame, SparkSession

    from ..data.io import Inputs
    from .sql.accounts import AccountRun
    from .sql.postgres import PgConnection

ENGINES = ("duckdb", "inprocess", "postgres", "spark")
Step = Callable[[str], None]  # told the name of each step as it starts
Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class Tables:
    """A population held in a database: ``con`` is a psycopg connection or a
    PostgreSQL URL (engine ``postgres``) or a SparkSession (engine ``spark``);
    ``accounts`` names the accounts table (None: contacts only)."""

    con: str | PgConnection | SparkSession
    contacts: str = "contacts"
    events: str | None = "events"
    accounts: str | None = None


class BatchRun:
    """A population's scoring planned on one engine (and, unless only shown, its
    account steps done). Close it (or use it as a context manager) to drop what the
    engine made for it."""

    engine: str
    report: LinkReport | None = None  # accounts: what linking set aside
    scores_accounts: bool = False  # some model has an ``account:`` section

    def statements(self, pretty: bool = False) -> list[str]:
        """The SQL it runs, in order (for ``--show-sql``)."""
        raise UsageError(f"the {self.engine} engine runs no SQL to show")

    def rows(self) -> tuple[Rows, Rows]:
        """The contact rows and the account rows (empty without accounts)."""
        raise NotImplementedError

    def write(
        self,
        out: str | Path | None,
        accounts_out: str | Path | None = None,
        step: Step | None = None,
    ) -> None:
        """Write the contact scores to ``out`` (and the account scores to
        ``accounts_out``); ``step`` hears each step's name as it starts. On DuckDB
        ``out`` may be None to write the accounts alone."""
        raise NotImplementedError

    def _contacts_file(self, out: str | Path | None) -> str | Path:
        if out is None:
            raise UsageError(
                f"the {self.engine} engine writes the contact scores with the accounts: "
                "give a file for them"
            )
        return out

    def close(self) -> None:
        """Drop what the run made (temporary tables or views)."""

    def __enter__(self) -> BatchRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def score_batch(
    models: ScoringModel | Sequence[ScoringModel],
    source: Inputs | Tables,
    *,
    engine: str = "duckdb",
    as_of: datetime | str,
    as_of_column: str | None = None,
    accounts: bool | None = None,
    execute: bool = True,
) -> BatchRun:
    """Plan the scoring of every contact of ``source`` under every model on ``engine``.

    ``accounts``: score the accounts too (None: when the source has accounts and a
    model scores or reads them). ``as_of_column`` gives each contact its own time
    (contacts alone). ``execute=False`` only plans (for :meth:`BatchRun.statements`).
    """
    from .sql.accounts import uses_accounts

    models = [models] if isinstance(models, ScoringModel) else list(models)
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    has_accounts = _has_accounts(source)
    if accounts is None:
        accounts = has_accounts and uses_accounts(models)
    if accounts and not has_accounts:
        raise UsageError("accounts to score, but the population has no accounts table")
    if accounts and as_of_column is not None:
        raise UsageError(
            "accounts are scored as of one time: drop the per-contact as-of column, or "
            "score the contacts alone"
        )
    if engine in ("duckdb", "inprocess"):
        if isinstance(source, Tables):
            raise UsageError(f"the {engine} engine reads the Inputs of load_inputs")
        if engine == "inprocess":
            if as_of_column is not None:
                raise UsageError(
                    "a per-contact as-of column needs a SQL engine (duckdb, postgres, spark)"
                )
            return _InProcess(models, source, as_of, accounts)
        return _DuckDB(models, source.con, as_of, as_of_column, accounts, execute)
    if not isinstance(source, Tables):
        raise UsageError(f"the {engine} engine reads Tables (a connection and table names)")
    if engine == "postgres":
        return _Postgres(models, source, as_of, as_of_column, accounts, execute)
    return _Spark(models, source, as_of, as_of_column, accounts, execute)


def _has_accounts(source: Any) -> bool:
    if isinstance(source, Tables):
        return source.accounts is not None
    return bool(getattr(source, "has_accounts", False))


def _scored(models: Sequence[ScoringModel]) -> bool:
    return any(m.account is not None for m in models)


def _write_typed(rows: Rows, columns: list[str], groups: list[str], path: str | Path) -> None:
    """Python rows written with the SQL engines' column types (groups and totals as
    doubles, counts as 64-bit integers, ``excluded`` a boolean, the rest text)."""
    import pyarrow as pa

    from ..data.io import connect, write_relation

    def kind(c: str) -> pa.DataType:
        if c in groups or c == "total":
            return pa.float64()
        if c in ("rules_fired", "contacts"):
            return pa.int64()
        if c == "excluded":
            return pa.bool_()
        return pa.string()

    table = pa.table({c: pa.array([r.get(c) for r in rows], kind(c)) for c in columns})
    con = connect()
    con.register("__scored_rows", table)
    try:
        write_relation(con, "SELECT * FROM __scored_rows", path)
    finally:
        con.close()


def _write_rows(
    models: Sequence[ScoringModel],
    contacts: Rows,
    accounts: Rows,
    out: str | Path,
    acc_out: str | Path | None,
) -> None:
    """Contact (and account) rows from Python written as the SQL engines write them."""
    from .sql import group_columns
    from .sql.accounts import account_group_columns, account_output_columns
    from .sql.accounts import contact_output_columns as with_account

    _write_typed(contacts, with_account(models), group_columns(models), out)
    if acc_out is not None and _scored(models):
        cols = account_output_columns(models)
        _write_typed(accounts, cols, account_group_columns(models), acc_out)


# ----------------------------------------------------------------------------- DuckDB


class _DuckDB(BatchRun):
    engine = "duckdb"

    def __init__(
        self,
        models: list[ScoringModel],
        con: DuckDBPyConnection,
        as_of: datetime | str,
        as_of_column: str | None,
        accounts: bool,
        execute: bool,
    ):
        from .sql.duckdb import prepare_accounts, query_sql

        self.models, self.con = models, con
        self.account_run: AccountRun | None = None
        self.as_of, self.as_of_column = as_of, as_of_column
        self.contacts_sql: str
        self.accounts_sql: str | None
        if accounts:
            self.account_run = prepare_accounts(
                models, con, as_of=as_of, execute=execute, pretty=not execute
            )
            self.report = self.account_run.report
            self.scores_accounts = _scored(models)
            self.contacts_sql = self.account_run.contacts_sql
            self.accounts_sql = self.account_run.accounts_sql
        else:
            con.execute("SET TimeZone = 'UTC'")
            self.contacts_sql = query_sql(models, con, as_of=as_of, as_of_column=as_of_column)
            self.accounts_sql = None

    def statements(self, pretty: bool = False) -> list[str]:
        from .sql.duckdb import query_sql

        if self.account_run is not None:
            return list(self.account_run.statements)
        if pretty:
            query = query_sql(
                self.models, self.con, pretty=True, as_of=self.as_of, as_of_column=self.as_of_column
            )
            return [query]
        return [self.contacts_sql]

    def rows(self) -> tuple[Rows, Rows]:
        out: list[Rows] = []
        for sql in (self.contacts_sql, self.accounts_sql):
            if sql is None:
                out.append([])
                continue
            rel = self.con.sql(sql)
            cols = rel.columns
            out.append([dict(zip(cols, row, strict=True)) for row in rel.fetchall()])
        return out[0], out[1]

    def write(
        self,
        out: str | Path | None,
        accounts_out: str | Path | None = None,
        step: Step | None = None,
    ) -> None:
        from ..data.io import write_relation

        if out is not None:
            (step or _quiet)("writing contacts")
            write_relation(self.con, self.contacts_sql, out)
        if self.accounts_sql is not None and accounts_out is not None:
            (step or _quiet)("writing accounts")
            write_relation(self.con, self.accounts_sql, accounts_out)

    def close(self) -> None:
        if self.account_run is not None:
            self.account_run.drop(self.con)
            self.account_run = None


def _quiet(_: str) -> None:
    pass


# ----------------------------------------------------------------------------- in-process


class _InProcess(BatchRun):
    """The reference evaluator over the whole population (slow; the yardstick)."""

    engine = "inprocess"

    def __init__(
        self, models: list[ScoringModel], inputs: Inputs, as_of: datetime | str, accounts: bool
    ):
        self.models, self.inputs, self.as_of, self.accounts = models, inputs, as_of, accounts
        self.scores_accounts = accounts and _scored(models)
        self.on_contact: Callable[[], None] | None = None  # called after each contact
        self._rows: tuple[Rows, Rows] | None = None

    def rows(self) -> tuple[Rows, Rows]:
        if self._rows is None:
            self._rows = self._with_accounts() if self.accounts else (self._alone(), [])
        return self._rows

    def _alone(self) -> Rows:
        from .inprocess import score_contact

        rows = []
        for contact, events in self.inputs.contact_rows():
            for model in self.models:
                rows.append(score_contact(model, contact, events, as_of=self.as_of).row())
            if self.on_contact is not None:
                self.on_contact()
        return rows

    def _with_accounts(self) -> tuple[Rows, Rows]:
        from .accounts import score_population
        from .linking import AccountIndex

        index = AccountIndex(self.inputs.account_rows())
        people = list(self.inputs.contact_rows())
        contacts: Rows = []
        accounts: Rows = []
        for model in self.models:
            pop = score_population(model, people, index, as_of=self.as_of)
            for result in pop.contacts:
                row = result.row()
                row["account_id"] = pop.links[str(result.contact_id)]
                contacts.append(row)
            accounts += [a.row() for a in pop.accounts]
        contacts.sort(key=lambda r: (r["contact_id"], r["model"]))
        accounts.sort(key=lambda r: (r["account_id"], r["model"]))
        self.report = index.report
        return contacts, accounts

    def write(
        self,
        out: str | Path | None,
        accounts_out: str | Path | None = None,
        step: Step | None = None,
    ) -> None:
        from ..data.io import write_rows
        from .sql import output_columns

        out = self._contacts_file(out)
        contacts, accounts = self.rows()
        (step or _quiet)("writing contacts")
        if self.accounts:
            _write_rows(self.models, contacts, accounts, out, accounts_out)
        else:
            write_rows(self.inputs.con, contacts, output_columns(self.models), out)


# ----------------------------------------------------------------------------- PostgreSQL


class _Postgres(BatchRun):
    """The compiled SQL run in the database; the rows come back to be written here."""

    engine = "postgres"

    def __init__(
        self,
        models: list[ScoringModel],
        tables: Tables,
        as_of: datetime | str,
        as_of_column: str | None,
        accounts: bool,
        execute: bool,
    ):
        from .sql import postgres

        self.models, self.tables = models, tables
        con = cast("str | PgConnection", tables.con)  # what the postgres engine reads
        self.owned = isinstance(con, str)
        conn = postgres.connect(con) if isinstance(con, str) else con
        self.conn: PgConnection | None = conn
        self.account_run: AccountRun | None = None
        self.steps: list[str] = []  # cached views of the contacts query's steps
        self.sql: tuple[str, str | None]
        self._pretty: str
        try:
            postgres.check_server(conn)
            contacts, events = tables.contacts, tables.events
            if accounts:
                assert tables.accounts is not None  # score_batch checked there are accounts
                self.account_run = postgres.prepare_accounts(
                    models, conn, as_of=as_of, accounts=tables.accounts, execute=execute,
                    pretty=not execute, contacts=contacts, events=events,
                )  # fmt: skip
                self.report = self.account_run.report
                self.scores_accounts = _scored(models)
                self.sql = (self.account_run.contacts_sql, self.account_run.accounts_sql)
            else:
                query = functools.partial(
                    postgres.query_sql,
                    models,
                    conn,
                    as_of=as_of,
                    as_of_column=as_of_column,
                    contacts=contacts,
                    events=events,
                )
                self.sql = (query(), None)
                self._pretty = query(pretty=True)
        except BaseException:
            self.close()
            raise

    def statements(self, pretty: bool = False) -> list[str]:
        if self.account_run is not None:
            return list(self.account_run.statements)
        return [self._pretty if pretty else self.sql[0]]

    def rows(self) -> tuple[Rows, Rows]:
        from .sql.postgres import dict_rows

        conn = self.conn
        assert conn is not None, "the run is closed"
        got = [[] if sql is None else dict_rows(conn.execute(sql)) for sql in self.sql]
        return got[0], got[1]

    def write(
        self,
        out: str | Path | None,
        accounts_out: str | Path | None = None,
        step: Step | None = None,
    ) -> None:
        from ..data.io import connect, write_rows
        from .sql import output_columns

        out = self._contacts_file(out)
        (step or _quiet)("scoring in PostgreSQL")
        contacts, accounts = self.rows()
        (step or _quiet)("writing contacts")
        if self.account_run is not None:
            _write_rows(self.models, contacts, accounts, out, accounts_out)
        else:
            write_rows(connect(), contacts, output_columns(self.models), out)

    def close(self) -> None:
        if self.account_run is not None:
            conn = self.conn
            assert conn is not None  # closed only after the run's tables are dropped
            for name in reversed(self.account_run.tables):
                conn.execute(f'DROP TABLE IF EXISTS "{name}"')
            self.account_run = None
        if self.owned and self.conn is not None:
            self.conn.close()
            self.conn = None


# ----------------------------------------------------------------------------- Spark


class _Spark(BatchRun):
    """The compiled SQL on Spark; results written as Parquet folders."""

    engine = "spark"

    def __init__(
        self,
        models: list[ScoringModel],
        tables: Tables,
        as_of: datetime | str,
        as_of_column: str | None,
        accounts: bool,
        execute: bool,
    ):
        from .sql import spark as sp

        self.models = models
        self.session = cast("SparkSession", tables.con)  # what the spark engine reads
        self.session.conf.set("spark.sql.session.timeZone", "UTC")
        self.account_run: AccountRun | None = None
        self.steps: list[str] = []  # cached views of the contacts query's steps
        self.sql: tuple[str, str | None]
        self._pretty: str
        if accounts:
            assert tables.accounts is not None  # score_batch checked there are accounts
            self.account_run = sp.prepare_accounts(
                models, self.session, as_of=as_of, accounts=tables.accounts, execute=execute
            )
            self.report = self.account_run.report
            self.scores_accounts = _scored(models)
            self.sql = (self.account_run.contacts_sql, self.account_run.accounts_sql)
        else:
            contacts_sql, self.steps = sp.prepare_contacts(
                models, self.session, as_of=as_of, as_of_column=as_of_column, execute=execute
            )
            self.sql = (contacts_sql, None)
            self._pretty = sp.query_sql(
                models, self.session, pretty=True, as_of=as_of, as_of_column=as_of_column
            )

    def statements(self, pretty: bool = False) -> list[str]:
        if self.account_run is not None:
            return list(self.account_run.statements)
        return [self._pretty if pretty else self.sql[0]]

    def frames(self) -> tuple[DataFrame, DataFrame | None]:
        contacts_sql, accounts_sql = self.sql
        contacts = self.session.sql(contacts_sql)
        return contacts, None if accounts_sql is None else self.session.sql(accounts_sql)

    def rows(self) -> tuple[Rows, Rows]:
        got = [[] if f is None else [r.asDict() for r in f.collect()] for f in self.frames()]
        return got[0], got[1]

    def write(
        self,
        out: str | Path | None,
        accounts_out: str | Path | None = None,
        step: Step | None = None,
    ) -> None:
        out = self._contacts_file(out)
        contacts, accounts = self.frames()
        (step or _quiet)("writing contacts")
        contacts.write.mode("overwrite").parquet(str(out))
        if accounts is not None and accounts_out is not None:
            (step or _quiet)("writing accounts")
            accounts.write.mode("overwrite").parquet(str(accounts_out))

    def close(self) -> None:
        from .sql.spark import drop_views

        drop_views(self.session, self.steps)
        self.steps = []
        if self.account_run is not None:
            drop_views(self.session, self.account_run.tables)
            self.account_run = None

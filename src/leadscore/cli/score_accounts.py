"""``leadscore score --accounts``: contacts and their accounts scored together.

:func:`plan` checks the account options against the models and the engine (and
warns where accounts are given but unused, or used but not given) before any
work; :func:`leadscore.engine.batch.score_batch` then scores them on every
engine alike: the contacts file gets an ``account_id`` column and the accounts
go to their own file, with the columns of
:func:`leadscore.engine.sql.accounts.account_output_columns`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..data.io import check_readable, output_format
from ..engine.sql.accounts import uses_accounts
from ..errors import UsageError
from ..model import ScoringModel
from .score_report import print_sql, warn

Models = list[ScoringModel]

ACCOUNT_MARK = "accounts"  # scores.parquet → scores.accounts.parquet
__all__ = ["AccountJob", "default_out", "plan", "show_spark_sql"]


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

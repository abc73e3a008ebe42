"""Run the compiled query on DuckDB, the default engine."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ...model.schema import ScoringModel
from . import build_query, to_sql
from .compiler import Source


def _columns(con, table: str) -> tuple[str, ...]:
    return tuple(r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall())


def source_of(con, contacts: str = "contacts", events: str = "events") -> Source:
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
    con,
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


def score_relation(models, con, *, as_of, as_of_column=None, **names):
    """A DuckDB relation with the scores (nothing computed until it is read)."""
    con.execute("SET TimeZone = 'UTC'")
    return con.sql(query_sql(models, con, as_of=as_of, as_of_column=as_of_column, **names))


def score_rows(models, con, *, as_of, as_of_column=None, **names) -> list[dict[str, Any]]:
    rel = score_relation(models, con, as_of=as_of, as_of_column=as_of_column, **names)
    cols = rel.columns
    return [dict(zip(cols, row, strict=True)) for row in rel.fetchall()]

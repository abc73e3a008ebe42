"""Batch scoring in SQL: a model compiled to one query, run on DuckDB (default),
PostgreSQL or Spark, with the same results as the in-process evaluator.

>>> from leadscore.engine.sql import score_sql            # doctest: +SKIP
>>> rows = score_sql([model], inputs.con, as_of="2026-03-01T00:00:00Z")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias, cast

from ...model.schema import ScoringModel
from .base import Source
from .dialects import get_dialect
from .query import OUTPUT_FIXED, build_query, group_columns, output_columns, to_sql

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection
    from pyspark.sql import SparkSession

    from .postgres import PgConnection

    Connection: TypeAlias = DuckDBPyConnection | str | PgConnection | SparkSession
    """What ``engine`` reads: a DuckDB connection, a PostgreSQL URL or connection, or a
    SparkSession."""

_Rows = list[dict[str, Any]]


def score_sql(
    models: ScoringModel | Sequence[ScoringModel],
    con: Connection,
    *,
    as_of: datetime | str | None = None,
    as_of_column: str | None = None,
    engine: str = "duckdb",
    **options: str,
) -> _Rows:
    """Score every contact; the rows come back as a list of dicts (ScoreResult.row() shape).

    ``con`` is a DuckDB connection with ``contacts`` and ``events`` (see
    :func:`leadscore.data.io.load_inputs`), a PostgreSQL URL, or a SparkSession,
    depending on ``engine`` (``duckdb``, ``postgres`` or ``spark``). A contact's
    own time in ``as_of_column`` (a column of contacts) overrides ``as_of``.
    """
    from datetime import UTC

    when = as_of if as_of is not None else datetime.now(UTC)
    d = get_dialect(engine)
    # The connection is the kind ``engine`` reads (nothing checks it before it is used).
    if d.name == "duckdb":
        from . import duckdb

        duck = cast("DuckDBPyConnection", con)
        return duckdb.score_rows(models, duck, as_of=when, as_of_column=as_of_column, **options)
    if d.name == "postgres":
        from . import postgres

        pg = cast("str | PgConnection", con)
        return postgres.score_rows(models, pg, as_of=when, as_of_column=as_of_column, **options)
    from . import spark

    session = cast("SparkSession", con)
    return spark.score_rows(models, session, as_of=when, as_of_column=as_of_column, **options)


def score_accounts_sql(
    models: ScoringModel | Sequence[ScoringModel],
    con: Connection,
    *,
    as_of: datetime | str | None = None,
    engine: str = "duckdb",
    **options: str,
) -> tuple[_Rows, _Rows]:
    """Score contacts and accounts (the ``accounts`` table beside ``contacts`` and
    ``events``): contact rows with their ``account_id``, and account rows."""
    from datetime import UTC

    when = as_of if as_of is not None else datetime.now(UTC)
    d = get_dialect(engine)
    if d.name == "duckdb":
        from . import duckdb

        return duckdb.score_account_rows(
            models, cast("DuckDBPyConnection", con), as_of=when, **options
        )
    if d.name == "postgres":
        from . import postgres

        return postgres.score_account_rows(
            models, cast("str | PgConnection", con), as_of=when, **options
        )
    from . import spark

    return spark.score_account_rows(models, cast("SparkSession", con), as_of=when, **options)


__all__ = [
    "OUTPUT_FIXED",
    "Source",
    "build_query",
    "group_columns",
    "output_columns",
    "score_accounts_sql",
    "score_sql",
    "to_sql",
]

"""Batch scoring in SQL: a model compiled to one query, run on DuckDB (default),
PostgreSQL or Spark, with the same results as the in-process evaluator.

>>> from leadscore.engine.sql import score_sql            # doctest: +SKIP
>>> rows = score_sql([model], inputs.con, as_of="2026-03-01T00:00:00Z")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ...model.schema import ScoringModel
from .base import Source
from .dialects import get_dialect
from .query import OUTPUT_FIXED, build_query, group_columns, output_columns, to_sql


def score_sql(
    models: ScoringModel | Sequence[ScoringModel],
    con,
    *,
    as_of: datetime | str | None = None,
    as_of_column: str | None = None,
    engine: str = "duckdb",
    **options,
):
    """Score every contact; the rows come back as a list of dicts (ScoreResult.row() shape).

    ``con`` is a DuckDB connection with ``contacts`` and ``events`` (see
    :func:`leadscore.data.io.load_inputs`), a PostgreSQL URL, or a SparkSession,
    depending on ``engine`` (``duckdb``, ``postgres`` or ``spark``). A contact's
    own time in ``as_of_column`` (a column of contacts) overrides ``as_of``.
    """
    from datetime import UTC

    when = as_of if as_of is not None else datetime.now(UTC)
    d = get_dialect(engine)
    if d.name == "duckdb":
        from .duckdb import score_rows
    elif d.name == "postgres":
        from .postgres import score_rows
    else:
        from .spark import score_rows
    return score_rows(models, con, as_of=when, as_of_column=as_of_column, **options)


def score_accounts_sql(
    models: ScoringModel | Sequence[ScoringModel],
    con,
    *,
    as_of: datetime | str | None = None,
    engine: str = "duckdb",
    **options,
) -> tuple[list[dict], list[dict]]:
    """Score contacts and accounts (the ``accounts`` table beside ``contacts`` and
    ``events``): contact rows with their ``account_id``, and account rows."""
    from datetime import UTC

    when = as_of if as_of is not None else datetime.now(UTC)
    d = get_dialect(engine)
    if d.name == "duckdb":
        from .duckdb import score_account_rows
    elif d.name == "postgres":
        from .postgres import score_account_rows
    else:
        from .spark import score_account_rows
    return score_account_rows(models, con, as_of=when, **options)


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

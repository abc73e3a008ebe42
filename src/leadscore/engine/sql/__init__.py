"""Batch scoring in SQL: a model compiled to one query, run on DuckDB (default),
PostgreSQL or Spark, with the same results as the in-process evaluator.

>>> from leadscore.engine.sql import score_sql            # doctest: +SKIP
>>> rows = score_sql([model], inputs.con, as_of="2026-03-01T00:00:00Z")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlglot import exp

from ...model.schema import ScoringModel
from .compiler import Source, as_of_micros, compile_model
from .dialects import Dialect, get_dialect

OUTPUT_FIXED = ("total", "grade", "stage", "excluded", "exclusion_reason", "rules_fired")


def output_columns(models: Sequence[ScoringModel]) -> list[str]:
    """contact_id, model, the groups of every model (first seen first), then the rest."""
    return ["contact_id", "model", *group_columns(models), *OUTPUT_FIXED]


def group_columns(models: Sequence[ScoringModel]) -> list[str]:
    seen: dict[str, None] = {}
    for m in models:
        for g in m.groups:
            seen.setdefault(g, None)
    return list(seen)


def build_query(
    models: ScoringModel | Sequence[ScoringModel],
    dialect: str | Dialect,
    source: Source,
    *,
    as_of: datetime | str,
    as_of_column: str | None = None,
    order: bool = True,
) -> exp.Expression:
    """The query scoring every contact under every model (one row per contact per model)."""
    models = [models] if isinstance(models, ScoringModel) else list(models)
    d = get_dialect(dialect) if isinstance(dialect, str) else dialect
    groups = group_columns(models)
    us = as_of_micros(as_of)
    parts = [
        compile_model(m, d, source, as_of_us=us, as_of_column=as_of_column, group_columns=groups)
        for m in models
    ]
    if len(parts) == 1:
        query: exp.Expression = parts[0]
        if order:
            query = query.order_by(exp.column("contact_id", quoted=True), copy=False)
        return query
    union: exp.Expression = parts[0].subquery("__q0")
    union = exp.select("*").from_(union)
    for i, p in enumerate(parts[1:], start=1):
        union = exp.union(union, exp.select("*").from_(p.subquery(f"__q{i}")), distinct=False)
    if order:
        union = (
            exp.select("*")
            .from_(union.subquery("__all"))
            .order_by(exp.column("contact_id", quoted=True), exp.column("model", quoted=True))
        )
    return union


def to_sql(query: exp.Expression, dialect: str | Dialect, pretty: bool = False) -> str:
    d = get_dialect(dialect) if isinstance(dialect, str) else dialect
    return query.sql(dialect=d.name, pretty=pretty)


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


__all__ = ["Source", "build_query", "output_columns", "score_accounts_sql", "score_sql", "to_sql"]

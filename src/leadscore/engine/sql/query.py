"""The query scoring contacts: every model compiled (:mod:`.compiler`) and put
together into one statement with one output shape, and its SQL text."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlglot import exp

from ...model.schema import ScoringModel
from .compiler import Source, as_of_micros, compile_model
from .dialects import Dialect, get_dialect

OUTPUT_FIXED = ("total", "grade", "stage", "excluded", "exclusion_reason", "rules_fired")
MATRIX_COLUMNS = ("matrix", "quadrant")
"""The last columns, when a model declares a matrix (NULL for the models that do not)."""


def has_matrix(models: Sequence[ScoringModel]) -> bool:
    return any(m.matrix is not None for m in models)


def output_columns(models: Sequence[ScoringModel]) -> list[str]:
    """contact_id, model, the groups of every model (first seen first), then the rest,
    and the matrix columns when a model declares a matrix."""
    extra = MATRIX_COLUMNS if has_matrix(models) else ()
    return ["contact_id", "model", *group_columns(models), *OUTPUT_FIXED, *extra]


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
) -> exp.Query:
    """The query scoring every contact under every model (one row per contact per model)."""
    models = [models] if isinstance(models, ScoringModel) else list(models)
    d = get_dialect(dialect) if isinstance(dialect, str) else dialect
    groups = group_columns(models)
    us = as_of_micros(as_of)
    matrix = has_matrix(models)
    parts = [
        compile_model(
            m,
            d,
            source,
            as_of_us=us,
            as_of_column=as_of_column,
            group_columns=groups,
            matrix_columns=matrix,
        )
        for m in models
    ]
    if len(parts) == 1:
        query: exp.Query = parts[0]
        if order:
            query = query.order_by(exp.column("contact_id", quoted=True), copy=False)
        return query
    union: exp.Query = exp.select("*").from_(parts[0].subquery("__q0"))
    for i, p in enumerate(parts[1:], start=1):
        union = exp.union(union, exp.select("*").from_(p.subquery(f"__q{i}")), distinct=False)
    if order:
        union = (
            exp.select("*")
            .from_(union.subquery("__all"))
            .order_by(exp.column("contact_id", quoted=True), exp.column("model", quoted=True))
        )
    return union


def to_sql(query: exp.Expr, dialect: str | Dialect, pretty: bool = False) -> str:
    d = get_dialect(dialect) if isinstance(dialect, str) else dialect
    return query.sql(dialect=d.name, pretty=pretty)


__all__ = [
    "MATRIX_COLUMNS",
    "OUTPUT_FIXED",
    "build_query",
    "group_columns",
    "has_matrix",
    "output_columns",
    "to_sql",
]

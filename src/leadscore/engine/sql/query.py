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
) -> exp.Query:
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


__all__ = ["OUTPUT_FIXED", "build_query", "group_columns", "output_columns", "to_sql"]

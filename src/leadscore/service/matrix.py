"""The matrix cell of stored scores, as SQL over the store's ``scores`` table.

A stored score keeps its group scores (``scores.groups``); the cell (``A1``) and the
quadrant are what the model's matrix makes of them (:func:`leadscore.engine.spine.matrix_of`),
so lists filter and count by them in the database without a column of their own, and
a cell never disagrees with the groups shown beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from ..engine import spine
from ..model.schema import Axes, ScoringModel
from ..store import tables as T

S = T.scores.c


def cell_column(axes: Axes) -> Any:
    """The cell of each stored score: the fit letter then the engagement band number."""
    fit = S.groups[axes.fit].as_float()
    eng = S.groups[axes.engagement].as_float()
    letter = sa.case(*[(fit >= m, lt) for lt, m in axes.letters], else_=axes.otherwise)
    last = len(axes.bands) + 1
    band = sa.case(
        *[(eng >= m, str(i)) for i, m in enumerate(axes.bands, start=1)], else_=str(last)
    )
    return sa.type_coerce(letter, sa.String) + sa.type_coerce(band, sa.String)


def quadrant_cells(axes: Axes, quadrant: str) -> list[str]:
    """The cells of the quadrant named ``quadrant`` (none for an unknown name)."""
    return [cell for cell, _, _, name in axes.cells() if name == quadrant]


def cell_condition(axes: Axes | None, cell: str, quadrant: str) -> list[Any]:
    """WHERE clauses keeping the scores in ``cell`` and in ``quadrant`` (each if given);
    a model without a matrix keeps none when either is asked for."""
    if not cell and not quadrant:
        return []
    if axes is None:
        return [sa.false()]
    where: list[Any] = []
    column = cell_column(axes)
    if cell:
        where.append(column == cell)
    if quadrant:
        where.append(column.in_(quadrant_cells(axes, quadrant) or ["-"]))
    return where


def stored_cell(model: ScoringModel, groups: Mapping[str, float]) -> dict[str, Any]:
    """``matrix`` and ``quadrant`` of a stored score, for the API's score objects (empty
    when the model has no matrix)."""
    cell = spine.matrix_of(model, groups or {})
    return {} if cell is None else {"matrix": cell[0], "quadrant": cell[1]}


def cell_counts(conn: sa.Connection, model: str, axes: Axes) -> dict[str, int]:
    """How many stored scores of ``model`` are in each cell."""
    column = cell_column(axes).label("cell")
    rows = conn.execute(
        sa.select(column, sa.func.count()).where(S.model_name == model).group_by(column)
    ).all()
    return {str(cell): int(n) for cell, n in rows}

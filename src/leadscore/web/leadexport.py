"""The leads list as CSV: the view's filters and order, every row, exact values, streamed.

The rows are read by keyset, ``EXPORT_BATCH`` at a time, each batch in a short
read of its own, so a million rows stream without holding a transaction open.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ..store import Store
from .keyset import encode
from .leadlist import LeadFilters, leads_query, search_mode, shape, sort_keys

EXPORT_BATCH = 1000  # rows per read while streaming a CSV export
EXPORT_COLUMNS = (
    "contact_id",
    "email",
    "first_name",
    "last_name",
    "company",
    "fit",
    "grade",
    "engagement",
    "total",
    "stage",
    "excluded",
    "source",
    "country",
    "last_activity",
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """A CSV cell: exact numbers, ISO times, and text that a spreadsheet never runs as a
    formula (a leading ``=``, ``+``, ``-``, ``@`` gets a quote mark, as OWASP advises)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def export_csv(
    store: Store,
    model: str,
    f: LeadFilters,
    *,
    stages: Sequence[str] = (),
    batch: int = EXPORT_BATCH,
    now: datetime | None = None,
) -> Iterator[str]:
    """Every row of the view, in its order, as CSV text: header first, then one chunk per
    batch of rows (each read by keyset in a short transaction of its own)."""
    now = now or datetime.now(UTC)
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\r\n")
    axes = f.axes  # a model with a matrix: each row's cell and quadrant, last
    columns = EXPORT_COLUMNS + (("matrix", "quadrant") if axes is not None else ())
    out.writerow(columns)
    yield buffer.getvalue()
    view = replace(f, page=1, after="", before="")
    keys = len(sort_keys(view, stages))
    with store.read() as conn:
        contains = search_mode(conn, view)
    while True:
        with store.read() as conn:
            query = leads_query(model, view, limit=batch, now=now, contains=contains, stages=stages)
            rows = [shape(r, keys) for r in conn.execute(query)]
        buffer.seek(0)
        buffer.truncate()
        for row in rows[:batch]:
            groups = row["groups"] or {}
            if axes is not None and axes.fit in groups and axes.engagement in groups:
                letter = axes.letter(groups[axes.fit])
                band = axes.band(groups[axes.engagement])
                row["matrix"], row["quadrant"] = f"{letter}{band}", axes.quadrant(letter, band)
            out.writerow([_cell(row.get(c)) for c in columns])
        if rows:
            yield buffer.getvalue()
        if len(rows) <= batch:
            return
        view = replace(view, after=encode(rows[batch - 1]["key"]))

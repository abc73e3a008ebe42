"""A score's top reasons as people and CRMs read them: ``"Demo request +40"``.

One wording for every place that shows them: the CRM sync's reasons field, a
``crm`` trigger action's payload, the exported scores file. The numbers are
rounded to one decimal, without a trailing ``.0``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def number_text(value: float) -> str:
    """A score or points as text: one decimal, ``40`` rather than ``40.0``."""
    text = f"{round(float(value), 1):.1f}"
    return text[:-2] if text.endswith(".0") else text


def reasons_from_breakdown(breakdown: Iterable[Any], n: int = 3) -> tuple[str, ...]:
    """Top reasons from a breakdown (rule hits as dicts, as stored by the service)."""
    hits = [
        h for h in breakdown if isinstance(h, dict) and h.get("fired", True) and h.get("points")
    ]
    hits.sort(key=lambda h: (-abs(float(h["points"])), str(h.get("group")), str(h.get("rule"))))
    out = []
    for h in hits[:n]:
        pts = float(h["points"])
        out.append(f"{h.get('rule')} {'+' if pts > 0 else ''}{number_text(pts)}")
    return tuple(out)

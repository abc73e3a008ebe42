"""What a property or attribute value means to a condition.

This module is the single statement of value semantics; the SQL compiler
reproduces it exactly (see ``docs/model-reference.md``, "Values").

* **missing**: ``None``, NaN, or text that is empty after trimming spaces.
* **text form**: text as is; ``true``/``false`` for booleans; numbers as Python
  prints them (``50``, ``50.5``).
* **number**: ints and floats; text that reads as a decimal number after trimming
  (``"50"``, ``" 1.5e3 "``); anything else is not a number and fails numeric tests.
* **boolean**: ``true``/``yes``/``1`` and ``false``/``no``/``0`` (any case, as
  :mod:`leadscore.engine.folding` compares it).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from typing import Any

from .folding import fold

NUMBER_RE = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$")
TRUE_WORDS = frozenset({"true", "yes", "1"})
FALSE_WORDS = frozenset({"false", "no", "0"})


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def text(value: Any) -> str | None:
    if is_missing(value):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def number(value: Any) -> float | None:
    if is_missing(value) or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        stripped = value.strip()
        if NUMBER_RE.match(stripped):
            result = float(stripped)
            return result if math.isfinite(result) else None
    return None


def boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    t = text(value)
    if t is None:
        return None
    low = fold(t.strip())
    if low in TRUE_WORDS:
        return True
    if low in FALSE_WORDS:
        return False
    return None


class TimestampError(ValueError):
    pass


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def timestamp(value: Any) -> datetime:
    """An aware UTC datetime from a datetime, an ISO 8601 text or epoch seconds.

    Naive times are taken as UTC. Raises :class:`TimestampError` otherwise.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise TimestampError(f"{value.isoformat()} is out of range once moved to UTC") from None
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, str):
        raw = value.strip()
        if _DATE_ONLY.match(raw):
            raw += "T00:00:00"
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "T", 1))
        except ValueError:
            raise TimestampError(
                f"cannot read {value!r} as a time; use ISO 8601, e.g. 2026-03-01T14:30:00Z"
            ) from None
        return timestamp(parsed)
    raise TimestampError(f"cannot read {value!r} as a time; use ISO 8601")


def optional_timestamp(value: Any) -> datetime | None:
    """Like :func:`timestamp`, but missing or unreadable values give ``None``."""
    if is_missing(value):
        return None
    try:
        return timestamp(value)
    except TimestampError:
        return None

"""What a value sent from outside may be before it is stored.

Both stores must keep what the API accepts, and give it back the same: text
without NUL characters (PostgreSQL text and JSONB cannot hold U+0000), JSON
numbers that are finite and fit a 64-bit integer or a double (PostgreSQL JSONB
refuses ``NaN`` and ``Infinity``; SQLite stores them as non-standard JSON that
its own JSON functions then reject), and JSON nested at most :data:`MAX_DEPTH`
levels. :func:`check_json` and :func:`check_text` say what is wrong, where and
how to fix it; the API's schemas and the integrations' routes both use them.
"""

from __future__ import annotations

import math
from typing import Any

MAX_DEPTH = 32  # levels of objects and arrays in one JSON value (properties, attributes)
MAX_INT = 2**63 - 1  # the widest integer every store and SQL engine keeps exactly
_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


class BadValue(ValueError):
    """A value that cannot be stored; ``where`` is the path to it inside the value."""

    def __init__(self, where: str, message: str):
        self.where, self.message = where, message
        super().__init__(f"{where}: {message}" if where else message)


def _path(where: str, key: Any) -> str:
    return f"{where}[{key}]" if isinstance(key, int) else (f"{where}.{key}" if where else key)


def check_text(value: str, where: str = "") -> str:
    if "\x00" in value:
        raise BadValue(
            where, "text must not contain the NUL character (\\u0000); remove it and send again"
        )
    return value


def check_number(value: float | int, where: str = "") -> float | int:
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise BadValue(
            where,
            f"{_NON_FINITE.get(repr(value), value)} is not a number JSON can store (NaN, "
            "Infinity and numbers beyond ±1.8e308 are refused); send a finite number, or null "
            "to leave the value out",
        )
    if isinstance(value, int) and abs(value) > MAX_INT:
        raise BadValue(
            where,
            f"the integer {str(value)[:20]}… has {len(str(abs(value)))} digits, beyond the "
            f"64-bit range (±{MAX_INT}); send it as text or as a decimal number",
        )
    return value


def check_json(value: Any, where: str = "") -> Any:
    """``value`` unchanged when every part of it can be stored; else :class:`BadValue`.

    Walks the value without recursion, so a deep value fails with a message, not
    a stack overflow. Values other than text, numbers, objects and arrays (a
    ``datetime`` given from Python) are left to their own validation.
    """
    stack: list[tuple[Any, str, int]] = [(value, where, 0)]
    while stack:
        item, at, depth = stack.pop()
        if isinstance(item, str):
            check_text(item, at)
        elif isinstance(item, int | float):
            check_number(item, at)
        elif isinstance(item, dict | list | tuple):
            if depth >= MAX_DEPTH:
                raise BadValue(
                    at, f"nested deeper than {MAX_DEPTH} levels of objects and arrays; flatten it"
                )
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, sub in pairs:
                if isinstance(key, str):
                    check_text(key, _path(at, key))
                stack.append((sub, _path(at, key), depth + 1))
    return value

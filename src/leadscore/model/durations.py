"""Durations such as ``12h``, ``30d``, ``2w`` or ``1w3d``.

A duration is a whole number of seconds. Months and years are refused: their
length varies, so ``30d`` or ``365d`` must be written instead.
"""

from __future__ import annotations

import re

UNITS: dict[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"(\d+)\s*([a-zA-Z]+)")
_MONTHS_YEARS = {"mo", "mon", "month", "months", "y", "yr", "year", "years"}
_WHOLE = re.compile(r"^\s*(?:\d+\s*[a-zA-Z]+\s*)+$")


class DurationError(ValueError):
    """A duration string could not be read; the message says how to write one."""


def parse_duration(text: object) -> int:
    """Return the number of seconds in ``text`` (``"30d"`` → 2592000).

    >>> parse_duration("1w2d")
    777600
    """
    if isinstance(text, bool) or not isinstance(text, str):
        raise DurationError(
            f"expected a duration such as '30d', got {text!r}; "
            "write a number followed by s, m, h, d or w"
        )
    if not _WHOLE.match(text):
        raise DurationError(
            f"cannot read duration {text!r}; write a number followed by s, m, h, d or w, "
            "e.g. '12h', '30d', '2w'"
        )
    total = 0
    seen: set[str] = set()
    for amount, unit in _PART.findall(text):
        if unit not in UNITS:
            hint = ""
            if unit.lower() in _MONTHS_YEARS:
                hint = " (months and years vary in length: use days, e.g. '30d' or '365d')"
            raise DurationError(
                f"unknown unit {unit!r} in duration {text!r}; use s, m, h, d or w{hint}"
            )
        if unit in seen:
            raise DurationError(f"unit {unit!r} appears twice in duration {text!r}")
        seen.add(unit)
        total += int(amount) * UNITS[unit]
    if total <= 0:
        raise DurationError(f"duration {text!r} must be longer than zero")
    return total


def format_duration(seconds: int) -> str:
    """Canonical text for ``seconds``: one unit when one divides it (``2592000`` →
    ``"30d"``, ``1209600`` → ``"2w"``), else a combination (``"1d12h"``)."""
    if seconds <= 0:
        raise ValueError("a duration is longer than zero")
    if seconds % UNITS["w"] == 0 and seconds // UNITS["w"] <= 52:
        return f"{seconds // UNITS['w']}w"
    for unit in ("d", "h", "m"):
        if seconds % UNITS[unit] == 0:
            return f"{seconds // UNITS[unit]}{unit}"
    if seconds < 60:
        return f"{seconds}s"
    out = []
    for unit in ("d", "h", "m", "s"):
        size = UNITS[unit]
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(out)

"""Case folding: the one rule by which every case-insensitive test compares text.

Two characters are equal ignoring case when Python's ``str.casefold()`` gives the
same result for each of them alone. This is Unicode's *simple* case folding, one
character at a time, so folding never changes a text's length:

* ``A``/``a``, ``Σ``/``σ``/``ς`` (final sigma), ``K``/``k``/``K`` (Kelvin sign),
  ``ẞ``/``ß``, Cherokee capital and small letters, ``ǅ``/``Ǆ``/``ǆ`` are equal;
* ``ß`` is not ``ss`` and ``ﬁ`` is not ``fi`` (one character is never two);
* ``İ`` (dotted capital I) and ``ı`` (dotless small i) equal only themselves:
  there is no Turkish rule, so ``I`` is ``i`` everywhere.

Text tests (``eq``/``in`` with text, ``contains``, ``starts_with``, ``ends_with``),
the true/false words and ``(?i)`` regular expressions all use this rule; the SQL
engines spell it as ``TRANSLATE`` over exactly the characters a literal needs
(see :func:`pairs_for`) and as explicit character classes inside patterns.
"""

from __future__ import annotations

import sys
from array import array
from bisect import bisect_right
from collections.abc import Iterable
from functools import lru_cache


@lru_cache(maxsize=1)
def every_character() -> str:
    """The text of every code point in order (surrogates included): character ``i`` is
    at index ``i``, so tests over all of Unicode run as one scan in C."""
    codec = "utf-32-le" if sys.byteorder == "little" else "utf-32-be"
    return array("I", range(sys.maxunicode + 1)).tobytes().decode(codec, "surrogatepass")


@lru_cache(maxsize=1)
def _classes() -> tuple[dict[int, int], dict[int, tuple[int, ...]]]:
    """(representative of every character that has another case, members of each class).

    Characters outside these maps fold to themselves alone.
    """
    by_fold: dict[str, set[int]] = {}
    text, block = every_character(), 512
    for start in range(0, len(text), block):
        part = text[start : start + block]
        if part.casefold() == part:  # most blocks have no case at all
            continue
        for i, ch in enumerate(part):
            folded = ch.casefold()
            if folded != ch:
                by_fold.setdefault(folded, set()).add(start + i)
    rep: dict[int, int] = {}
    members: dict[int, tuple[int, ...]] = {}
    for folded, points in by_fold.items():
        if len(folded) == 1 and folded.casefold() == folded:
            points = points | {ord(folded)}
        if len(points) < 2:
            continue  # e.g. 'ﬁ' → 'fi': no other single character folds the same way
        chosen = ord(folded) if len(folded) == 1 else min(points)
        group = tuple(sorted(points))
        for cp in group:
            rep[cp] = chosen
            members[cp] = group
    return rep, members


@lru_cache(maxsize=1)
def _table() -> dict[int, int]:
    rep, _ = _classes()
    return {cp: r for cp, r in rep.items() if cp != r}


def fold(text: str) -> str:
    """``text`` with every character replaced by its class's representative."""
    if text.isascii():
        return text.lower()  # the same as the table on ASCII, and faster
    return text.translate(_table())


def fold_class(cp: int, ascii_only: bool = False) -> tuple[int, ...]:
    """Every character equal to ``cp`` ignoring case (``cp`` included).

    ``ascii_only`` (a regular expression's ``(?a)``): only ASCII letters have a case.
    """
    if ascii_only:
        ch = chr(cp)
        if ch.isascii() and ch.isalpha():
            return tuple(sorted({ord(ch.lower()), ord(ch.upper())}))
        return (cp,)
    return _classes()[1].get(cp, (cp,))


def close_ranges(
    ranges: Iterable[tuple[int, int]], ascii_only: bool = False
) -> tuple[tuple[int, int], ...]:
    """Sorted, merged ``ranges`` plus every character equal to one of them ignoring case."""
    ranges = sorted(ranges)
    starts = [lo for lo, _ in ranges]

    def inside(cp: int) -> bool:
        i = bisect_right(starts, cp) - 1
        return i >= 0 and ranges[i][1] >= cp

    extra: set[int] = set()
    if ascii_only:
        for lo, hi in ranges:
            for cp in range(max(lo, 65), min(hi, 122) + 1):
                extra.update(fold_class(cp, True))
    else:
        for group in set(_classes()[1].values()):
            if any(inside(cp) for cp in group):
                extra.update(group)
    return merge([*ranges, *((cp, cp) for cp in extra)])


def merge(ranges: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    out: list[list[int]] = []
    for lo, hi in sorted(ranges):
        if out and out[-1][1] >= lo - 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return tuple((a, b) for a, b in out)


def pairs_for(literals: Iterable[str]) -> tuple[str, str]:
    """``(from, to)`` for SQL ``TRANSLATE``: exactly the characters that can equal a
    character of ``literals`` ignoring case and are not their class's representative.

    ``TRANSLATE(x, from, to)`` compared with :func:`fold` of a literal is exact: a
    character of ``x`` outside every class of the literal's characters is left as it
    is, and it cannot equal a representative, which belongs to one of those classes.
    """
    rep, members = _classes()
    src: list[str] = []
    dst: list[str] = []
    seen: set[int] = set()
    for cp in sorted({ord(c) for lit in literals for c in lit}):
        for m in members.get(cp, ()):
            if m not in seen and rep[m] != m:
                seen.add(m)
                src.append(chr(m))
                dst.append(chr(rep[m]))
    return "".join(src), "".join(dst)

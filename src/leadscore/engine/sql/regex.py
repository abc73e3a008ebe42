"""Translate a Python regular expression into an engine's syntax, exactly, or refuse.

Python's ``re``, RE2 (DuckDB), PostgreSQL's ARE and Java (Spark) disagree on
``.``, ``$``, ``\\b``, ``\\w``, ``\\d``, case-insensitivity and more. Instead of
passing the pattern through, it is parsed with Python's own parser and written
back in a small common form: every character class, case-insensitive letter,
``\\w``/``\\d``/``\\s`` and ``.`` becomes an explicit list of code-point ranges
computed by Python itself, so it means the same on every engine. What cannot be
written that way (back-references, look-arounds, ``$`` or ``\\b`` in the middle
of a pattern, possessive repeats, multi-line mode) is refused with a message
naming the engine and the construct.
"""

from __future__ import annotations

import re
import sys
from functools import lru_cache

try:  # Python ≥ 3.11
    from re import _constants as C
    from re import _parser as P
except ImportError:  # pragma: no cover
    import sre_constants as C  # type: ignore[no-redef]
    import sre_parse as P  # type: ignore[no-redef]

MAX_REPEAT = 255  # PostgreSQL's limit; RE2 allows 1000


class RegexUnsupported(ValueError):
    """The pattern uses something an engine cannot run with Python's meaning."""


@lru_cache(maxsize=1)
def _all_chars() -> str:
    return "".join(map(chr, range(sys.maxunicode + 1)))


@lru_cache(maxsize=4096)
def _charset(source: str, flags: int) -> tuple[tuple[int, int], ...]:
    """The exact set of characters Python's one-character pattern ``source`` matches."""
    compiled = re.compile(source, flags)
    points = sorted(ord(m.group()) for m in compiled.finditer(_all_chars()))
    ranges: list[list[int]] = []
    for cp in points:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return tuple((a, b) for a, b in ranges)


def _word_set(flags: int) -> tuple[tuple[int, int], ...]:
    return _charset(r"\w", flags & re.ASCII)


def _subset(a: tuple, b: tuple) -> bool:
    """Every range of ``a`` lies inside a range of ``b``."""
    return all(any(lo >= blo and hi <= bhi for blo, bhi in b) for lo, hi in a)


def _complement(ranges: tuple) -> tuple:
    out, start = [], 0
    for lo, hi in ranges:
        if lo > start:
            out.append((start, lo - 1))
        start = hi + 1
    if start <= sys.maxunicode:
        out.append((start, sys.maxunicode))
    return tuple(out)


def _without_surrogates(ranges: tuple) -> tuple:
    """UTF-8 text never holds U+D800..U+DFFF, and RE2 refuses them in a class."""
    out = []
    for lo, hi in ranges:
        if lo < 0xD800:
            out.append((lo, min(hi, 0xD7FF)))
        if hi > 0xDFFF:
            out.append((max(lo, 0xE000), hi))
    return tuple(out)


_CATEGORY_SOURCE = {
    C.CATEGORY_DIGIT: r"\d",
    C.CATEGORY_NOT_DIGIT: r"\D",
    C.CATEGORY_SPACE: r"\s",
    C.CATEGORY_NOT_SPACE: r"\S",
    C.CATEGORY_WORD: r"\w",
    C.CATEGORY_NOT_WORD: r"\W",
}


def _class_source(items) -> str:
    parts = []
    for op, av in items:
        if op is C.NEGATE:
            parts.insert(0, "^")
        elif op is C.LITERAL:
            parts.append(re.escape(chr(av)))
        elif op is C.RANGE:
            parts.append(re.escape(chr(av[0])) + "-" + re.escape(chr(av[1])))
        elif op is C.CATEGORY:
            parts.append(_CATEGORY_SOURCE[av])
        else:  # pragma: no cover - the parser only puts the above in a class
            raise RegexUnsupported(f"character class item {op}")
    return "[" + "".join(parts) + "]"


class _Writer:
    def __init__(self, engine: str, label: str, pattern: str):
        self.engine, self.label, self.pattern = engine, label, pattern

    def refuse(self, what: str) -> RegexUnsupported:
        return RegexUnsupported(
            f"{self.label} cannot run the regular expression {self.pattern!r} with Python's "
            f"meaning: {what}"
        )

    # -- characters
    def hex(self, cp: int) -> str:
        if self.engine == "postgres":
            return f"\\u{cp:04X}" if cp <= 0xFFFF else f"\\U{cp:08X}"
        return f"\\x{{{cp:X}}}"

    def char(self, cp: int) -> str:
        c = chr(cp)
        return c if c.isascii() and c.isalnum() else self.hex(cp)

    def ranges(self, ranges: tuple) -> str:
        ranges = _without_surrogates(ranges)
        if self.engine == "postgres":  # PostgreSQL text cannot hold NUL
            ranges = tuple((max(lo, 1), hi) for lo, hi in ranges if hi >= 1)
        if not ranges:
            raise self.refuse("a character class that can match nothing")
        if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
            return self.char(ranges[0][0])
        body = "".join(
            self.char(lo) if lo == hi else f"{self.char(lo)}-{self.char(hi)}" for lo, hi in ranges
        )
        return f"[{body}]"

    def end(self) -> str:
        return "\\Z" if self.engine == "postgres" else "\\z"

    # -- structure
    def seq(self, items, flags: int, head: bool, tail: bool) -> str:
        items = list(items)
        out = []
        for i, (op, av) in enumerate(items):
            is_head = head and i == 0
            is_tail = tail and i == len(items) - 1
            if op is C.AT and av is C.AT_BOUNDARY:
                out.append(self.boundary(items, i, flags, is_head, is_tail))
            else:
                out.append(self.item(op, av, flags, is_head, is_tail))
        return "".join(out)

    def boundary(self, items, i, flags, head, tail) -> str:
        word = _word_set(flags)
        if head and i + 1 < len(items):
            first = self.edge_set(items[i + 1], flags, first=True)
            if first is not None and _subset(first, word):
                return f"(?:^|{self.ranges(_complement(word))})"
            if first is not None and _subset(first, _complement(word)):
                return self.ranges(word)
        if tail and i > 0:
            last = self.edge_set(items[i - 1], flags, first=False)
            if last is not None and _subset(last, word):
                return f"(?:{self.ranges(_complement(word))}|{self.end()})"
            if last is not None and _subset(last, _complement(word)):
                return self.ranges(word)
        raise self.refuse(
            "'\\b' is only supported at the start or end of the pattern, next to letters "
            "(or next to non-letters) on every branch, e.g. '\\b(ceo|cto)\\b'"
        )

    def edge_set(self, node, flags: int, first: bool) -> tuple | None:
        """The characters the node's first (or last) consumed character can be, if fixed."""
        op, av = node
        if op is C.LITERAL:
            return _charset(re.escape(chr(av)), flags)
        if op is C.NOT_LITERAL:
            return _charset("[^" + re.escape(chr(av)) + "]", flags)
        if op is C.IN:
            return _charset(_class_source(av), flags)
        if op is C.ANY:
            return _charset(".", flags)
        if op in (C.MAX_REPEAT, C.MIN_REPEAT) and av[0] >= 1:
            body = list(av[2])
            return self.edge_set(body[0] if first else body[-1], flags, first) if body else None
        if op is C.SUBPATTERN:
            inner = (flags | av[1]) & ~av[2]
            body = list(av[3])
            return self.edge_set(body[0] if first else body[-1], inner, first) if body else None
        if op is C.BRANCH:
            acc: set[tuple[int, int]] = set()
            for alt in av[1]:
                alt = list(alt)
                if not alt:
                    return None
                part = self.edge_set(alt[0] if first else alt[-1], flags, first)
                if part is None:
                    return None
                acc |= set(part)
            return tuple(sorted(acc))
        return None

    def item(self, op, av, flags: int, head: bool, tail: bool) -> str:
        if op is C.LITERAL:
            if flags & re.IGNORECASE:
                return self.ranges(_charset(re.escape(chr(av)), flags))
            return self.char(av)
        if op is C.NOT_LITERAL:
            return self.ranges(_charset("[^" + re.escape(chr(av)) + "]", flags))
        if op is C.ANY:
            return self.ranges(_charset(".", flags))
        if op is C.IN:
            return self.ranges(_charset(_class_source(av), flags))
        if op is C.BRANCH:
            return "(?:" + "|".join(self.seq(alt, flags, head, tail) for alt in av[1]) + ")"
        if op is C.SUBPATTERN:
            _, add, delete, body = av
            if (add | delete) & ~(re.IGNORECASE | re.ASCII | re.DOTALL | re.VERBOSE | re.UNICODE):
                raise self.refuse("multi-line mode '(?m)' inside a group")
            return "(?:" + self.seq(body, (flags | add) & ~delete, head, tail) + ")"
        if op in (C.MAX_REPEAT, C.MIN_REPEAT):
            lo, hi, body = av
            if lo > MAX_REPEAT or (hi is not C.MAXREPEAT and hi > MAX_REPEAT):
                raise self.refuse(f"a repeat count above {MAX_REPEAT}")
            inner = self.seq(body, flags, False, False)
            if hi is C.MAXREPEAT:
                count = "*" if lo == 0 else "+" if lo == 1 else f"{{{lo},}}"
            else:
                count = f"{{{lo}}}" if lo == hi else f"{{{lo},{hi}}}"
            return f"(?:{inner}){count}"
        if op is C.AT:
            if av in (C.AT_BEGINNING, C.AT_BEGINNING_STRING):
                return "^"
            if av is C.AT_END_STRING:
                return self.end()
            if av is C.AT_END:
                if not tail:
                    raise self.refuse("'$' is only supported at the end of the pattern")
                return f"(?:{self.hex(10)}?{self.end()})"
            raise self.refuse("'\\B' (not a word boundary)")
        names = {
            C.GROUPREF: "back-references such as \\1",
            C.GROUPREF_EXISTS: "conditional groups (?(1)...)",
            C.ASSERT: "look-ahead or look-behind (?=...) (?<=...)",
            C.ASSERT_NOT: "negative look-ahead or look-behind (?!...) (?<!...)",
        }
        possessive = getattr(C, "POSSESSIVE_REPEAT", None)
        atomic = getattr(C, "ATOMIC_GROUP", None)
        if op is possessive:
            raise self.refuse("possessive repeats such as a++")
        if op is atomic:
            raise self.refuse("atomic groups (?>...)")
        raise self.refuse(names.get(op, f"the construct {op}"))


@lru_cache(maxsize=1024)
def translate(pattern: str, engine: str, label: str | None = None) -> str:
    """``pattern`` (Python syntax, searched) → the same search in ``engine``'s syntax.

    ``engine`` is ``duckdb`` (RE2), ``postgres`` (ARE) or ``spark`` (Java).
    Raises :class:`RegexUnsupported` naming the engine and the construct.
    """
    writer = _Writer(engine, label or engine, pattern)
    try:
        parsed = P.parse(pattern, 0)
    except re.error as exc:
        raise writer.refuse(f"it does not compile ({exc})") from None
    flags = parsed.state.flags
    if flags & re.MULTILINE:
        raise writer.refuse("multi-line mode '(?m)'")
    return writer.seq(list(parsed), flags, True, True)


def char_class(points, engine: str) -> str:
    """A bracket expression for exactly the given code points, in ``engine``'s syntax."""
    ranges: list[list[int]] = []
    for cp in sorted(set(points)):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return _Writer(engine, engine, "").ranges(tuple((a, b) for a, b in ranges))


def not_char_class(points, engine: str) -> str:
    """A bracket expression for every code point except the given ones."""
    inside = set(points)
    ranges = _complement(tuple((p, p) for p in sorted(inside)))
    return _Writer(engine, engine, "").ranges(_merge(ranges))


def _merge(ranges: tuple) -> tuple:
    out: list[list[int]] = []
    for lo, hi in ranges:
        if out and out[-1][1] >= lo - 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return tuple((a, b) for a, b in out)


def lower_class(letter: str) -> set[int]:
    """Every character whose Python lower() is ``letter``."""
    same = {ord(letter)} if len(letter) == 1 and letter.lower() == letter else set()
    return same | _lowered_from().get(letter, set())


@lru_cache(maxsize=1)
def _lowered_from() -> dict[str, set[int]]:
    """The characters that lower() changes, by what it makes of them (one pass over
    Unicode for every letter asked, instead of one pass per letter)."""
    out: dict[str, set[int]] = {}
    text, block = _all_chars(), 256
    for start in range(0, len(text), block):
        part = text[start : start + block]
        if part.lower() == part:  # most blocks have no case at all
            continue
        for i, ch in enumerate(part):
            low = ch.lower()
            if low != ch:
                out.setdefault(low, set()).add(start + i)
    return out

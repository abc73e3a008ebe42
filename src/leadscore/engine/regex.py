"""Regular expressions: one meaning (Python's syntax, searched) on every evaluator.

Python's ``re``, RE2 (DuckDB), PostgreSQL's ARE and Java (Spark) disagree on
``.``, ``$``, ``\\b``, ``\\w``, ``\\d``, case-insensitivity and more. Instead of
passing the pattern through, it is parsed with Python's own parser and written
back in a small common form: every character class, case-insensitive letter,
``\\w``/``\\d``/``\\s`` and ``.`` becomes an explicit list of code-point ranges
(Python's classes; case folded by :mod:`leadscore.engine.folding`), so it means
the same on every engine. What cannot be written that way (back-references,
look-arounds, ``$`` or ``\\b`` in the middle of a pattern, possessive repeats,
multi-line mode) is refused with a message naming the engine and the construct.

The in-process evaluator runs the same translation on RE2 (:func:`search`), whose
time is linear in the text: no pattern can make it backtrack for ever. A model
whose pattern RE2 cannot run is refused when it is loaded (:func:`check`).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol, cast

from .folding import close_ranges, every_character, fold_class, merge

if TYPE_CHECKING:  # typeshed describes re's parser under its public names of old
    import sre_constants as C
    import sre_parse as P
else:  # Python ≥ 3.11 (importing sre_parse would warn that it is deprecated)
    from re import _constants as C
    from re import _parser as P

Ranges = tuple[tuple[int, int], ...]
"""A set of code points as sorted, inclusive (low, high) ranges."""

# re's parser gives a pattern as nodes (opcode, argument); the opcode decides the
# argument's shape: LITERAL, NOT_LITERAL a code point; AT, CATEGORY a code of its own;
# IN a list of nodes; and these:
_Node = tuple[int, object]
_Repeat = tuple[int, int, P.SubPattern]  # MAX_REPEAT, MIN_REPEAT: (min, max, body)
_Group = tuple[int | None, int, int, P.SubPattern]  # SUBPATTERN: (group, on, off, body)
_Branch = tuple[None, list[P.SubPattern]]  # BRANCH: (None, alternatives)

# The largest repeat count each engine compiles: PostgreSQL's limit is 255, RE2's 1000.
MAX_REPEAT = {"postgres": 255, "duckdb": 1000, "spark": 1000, "re2": 1000}
# RE2's memory budget for one compiled pattern (its default): bigger ones are refused.
RE2_MAX_MEM = 8 << 20
INPROCESS = "re2"  # the engine name of the in-process evaluator's translation


class RegexUnsupported(ValueError):
    """The pattern uses something an engine cannot run with Python's meaning.

    ``construct`` names it, ``hint`` says how to write the pattern instead.
    """

    def __init__(self, message: str, construct: str = "", hint: str | None = None):
        super().__init__(message)
        self.construct, self.hint = construct, hint


@lru_cache(maxsize=4096)
def _charset(source: str, flags: int) -> Ranges:
    """The exact set of characters Python's one-character pattern ``source`` matches."""
    # Runs of matching characters in the text of every code point, in order: each run
    # is one range (a few hundred matches, where one per character made 140,000 for \w).
    compiled = re.compile(f"(?:{source})+", flags)
    return tuple((m.start(), m.end() - 1) for m in compiled.finditer(every_character()))


def _word_set(flags: int) -> Ranges:
    return _charset(r"\w", flags & re.ASCII)


def _subset(a: Ranges, b: Ranges) -> bool:
    """Every range of ``a`` lies inside a range of ``b``."""
    return all(any(lo >= blo and hi <= bhi for blo, bhi in b) for lo, hi in a)


def _complement(ranges: Ranges) -> Ranges:
    out: list[tuple[int, int]] = []
    start = 0
    for lo, hi in ranges:
        if lo > start:
            out.append((start, lo - 1))
        start = hi + 1
    if start <= sys.maxunicode:
        out.append((start, sys.maxunicode))
    return tuple(out)


def _without_surrogates(ranges: Ranges) -> Ranges:
    """UTF-8 text never holds U+D800..U+DFFF, and RE2 refuses them in a class."""
    out: list[tuple[int, int]] = []
    for lo, hi in ranges:
        if lo < 0xD800:
            out.append((lo, min(hi, 0xD7FF)))
        if hi > 0xDFFF:
            out.append((max(lo, 0xE000), hi))
    return tuple(out)


_CATEGORY_SOURCE: dict[int, str] = {
    C.CATEGORY_DIGIT: r"\d",
    C.CATEGORY_NOT_DIGIT: r"\D",
    C.CATEGORY_SPACE: r"\s",
    C.CATEGORY_NOT_SPACE: r"\S",
    C.CATEGORY_WORD: r"\w",
    C.CATEGORY_NOT_WORD: r"\W",
}


def _ignore_case(ranges: Ranges, flags: int) -> Ranges:
    """Under ``(?i)``: the ranges plus every character equal to one of them ignoring case."""
    if not flags & re.IGNORECASE:
        return merge(ranges)
    return close_ranges(ranges, ascii_only=bool(flags & re.ASCII))


def _literal_set(cp: int, flags: int) -> Ranges:
    if flags & re.IGNORECASE:
        return merge((c, c) for c in fold_class(cp, bool(flags & re.ASCII)))
    return ((cp, cp),)


def _any_set(flags: int) -> Ranges:
    return ((0, sys.maxunicode),) if flags & re.DOTALL else _complement(((10, 10),))


@lru_cache(maxsize=4096)
def _class_set(items: tuple[_Node, ...], flags: int) -> Ranges:
    """A bracket class: its letters and ranges (case folded under ``(?i)``), its
    ``\\w``/``\\d``/``\\s`` as Python defines them (case plays no part), negated by ``^``."""
    negate = False
    letters: list[tuple[int, int]] = []
    parts: list[tuple[int, int]] = []
    for op, av in items:
        if op is C.NEGATE:
            negate = True
        elif op is C.LITERAL:
            letters.append((cast(int, av), cast(int, av)))
        elif op is C.RANGE:
            bounds = cast(tuple[int, int], av)
            letters.append((bounds[0], bounds[1]))
        elif op is C.CATEGORY:
            parts.extend(_charset(_CATEGORY_SOURCE[cast(int, av)], flags & re.ASCII))
        else:  # pragma: no cover - the parser only puts the above in a class
            raise RegexUnsupported(f"character class item {op}", "a character class item")
    out = merge([*_ignore_case(tuple(letters), flags), *parts])
    return _complement(out) if negate else out


def _in_set(av: object, flags: int) -> Ranges:
    items = cast(list[_Node], av)
    return _class_set(tuple((op, tuple(a) if isinstance(a, list) else a) for op, a in items), flags)


_HINTS = {
    "back-references such as \\1": "write the repeated part out, e.g. 'abab' for '(ab)\\1'",
    "conditional groups (?(1)...)": "write the cases as alternatives '(x|y)' or as conditions "
    "under 'any'",
    "look-ahead or look-behind (?=...) (?<=...)": "match the neighbouring text itself, or "
    "combine two conditions with 'all'",
    "negative look-ahead or look-behind (?!...) (?<!...)": "combine two conditions, e.g. "
    "all: [{title: {matches: a}}, {not: {title: {matches: ab}}}]",
    "possessive repeats such as a++": "write a plain repeat such as 'a+': matching takes "
    "linear time, so possessive repeats are not needed",
    "atomic groups (?>...)": "write a plain group '(?:...)': matching takes linear time, so "
    "atomic groups are not needed",
    "multi-line mode '(?m)'": "test the text as a whole; match a line break with '\\n'",
    "multi-line mode '(?m)' inside a group": "test the text as a whole; match a line break "
    "with '\\n'",
    "'$' is only supported at the end of the pattern": "put '$' last (on each alternative), "
    "or match a line break with '\\n'",
    "a character class that can match nothing": "remove the empty class",
}


class _Writer:
    def __init__(self, engine: str, label: str, pattern: str):
        self.engine, self.label, self.pattern = engine, label, pattern

    def refuse(self, what: str, hint: str | None = None) -> RegexUnsupported:
        return RegexUnsupported(
            f"{self.label} cannot run the regular expression {self.pattern!r} with Python's "
            f"meaning: {what}",
            what,
            hint or _HINTS.get(what),
        )

    @property
    def re2(self) -> bool:
        """RE2 (DuckDB and the in-process evaluator): its ``\\b`` is the ASCII one."""
        return self.engine in ("duckdb", INPROCESS)

    # -- characters
    def hex(self, cp: int) -> str:
        if self.engine == "postgres":
            return f"\\u{cp:04X}" if cp <= 0xFFFF else f"\\U{cp:08X}"
        return f"\\x{{{cp:X}}}"

    def char(self, cp: int) -> str:
        c = chr(cp)
        return c if c.isascii() and c.isalnum() else self.hex(cp)

    def ranges(self, ranges: Ranges) -> str:
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
    def seq(self, nodes: Iterable[_Node], flags: int, head: bool, tail: bool) -> str:
        items = list(nodes)
        out = []
        for i, (op, av) in enumerate(items):
            is_head = head and i == 0
            is_tail = tail and i == len(items) - 1
            if op is C.AT and av is C.AT_BOUNDARY:
                out.append(self.boundary(items, i, flags, is_head, is_tail))
            else:
                out.append(self.item(op, av, flags, is_head, is_tail))
        return "".join(out)

    def boundary(self, items: list[_Node], i: int, flags: int, head: bool, tail: bool) -> str:
        if self.re2 and flags & re.ASCII:
            return "\\b"  # RE2's \b is exactly Python's (?a)\b, anywhere
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
            "(or next to non-letters) on every branch, e.g. '\\b(ceo|cto)\\b'",
            "move '\\b' to the start or end of the pattern"
            + (", or add '(?a)' for ASCII word boundaries anywhere" if self.re2 else ""),
        )

    def edge_set(self, node: _Node, flags: int, first: bool) -> Ranges | None:
        """The characters the node's first (or last) consumed character can be, if fixed."""
        op, av = node
        if op is C.LITERAL:
            return _literal_set(cast(int, av), flags)
        if op is C.NOT_LITERAL:
            return _complement(_literal_set(cast(int, av), flags))
        if op is C.IN:
            return _in_set(av, flags)
        if op is C.ANY:
            return _any_set(flags)
        if op in (C.MAX_REPEAT, C.MIN_REPEAT) and cast(_Repeat, av)[0] >= 1:
            body = list(cast(_Repeat, av)[2].data)
            return self.edge_set(body[0] if first else body[-1], flags, first) if body else None
        if op is C.SUBPATTERN:
            group = cast(_Group, av)
            inner = (flags | group[1]) & ~group[2]
            body = list(group[3].data)
            return self.edge_set(body[0] if first else body[-1], inner, first) if body else None
        if op is C.BRANCH:
            acc: set[tuple[int, int]] = set()
            for alternative in cast(_Branch, av)[1]:
                alt = list(alternative.data)
                if not alt:
                    return None
                part = self.edge_set(alt[0] if first else alt[-1], flags, first)
                if part is None:
                    return None
                acc |= set(part)
            return tuple(sorted(acc))
        return None

    def item(self, op: int, av: object, flags: int, head: bool, tail: bool) -> str:
        if op is C.LITERAL:
            if flags & re.IGNORECASE:
                return self.ranges(_literal_set(cast(int, av), flags))
            return self.char(cast(int, av))
        if op is C.NOT_LITERAL:
            return self.ranges(_complement(_literal_set(cast(int, av), flags)))
        if op is C.ANY:
            return self.ranges(_any_set(flags))
        if op is C.IN:
            return self.ranges(_in_set(av, flags))
        if op is C.BRANCH:
            alternatives = cast(_Branch, av)[1]
            return "(?:" + "|".join(self.seq(a.data, flags, head, tail) for a in alternatives) + ")"
        if op is C.SUBPATTERN:
            _, add, delete, group = cast(_Group, av)
            if (add | delete) & ~(re.IGNORECASE | re.ASCII | re.DOTALL | re.VERBOSE | re.UNICODE):
                raise self.refuse("multi-line mode '(?m)' inside a group")
            return "(?:" + self.seq(group.data, (flags | add) & ~delete, head, tail) + ")"
        if op in (C.MAX_REPEAT, C.MIN_REPEAT):
            lo, hi, body = cast(_Repeat, av)
            limit = MAX_REPEAT[self.engine]
            if lo > limit or (hi is not C.MAXREPEAT and hi > limit):
                raise self.refuse(
                    f"a repeat count above {limit}",
                    f"use a count of at most {limit}, or '+' / '*' for any number",
                )
            inner = self.seq(body.data, flags, False, False)
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
            if self.re2 and flags & re.ASCII:
                return "\\B"  # RE2's \B is exactly Python's (?a)\B
            raise self.refuse(
                "'\\B' (not a word boundary)",
                "add '(?a)' for ASCII words" if self.re2 else "test it with 'not' and '\\b'",
            )
        names: dict[int, str] = {
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

    ``engine`` is ``duckdb`` (RE2), ``postgres`` (ARE), ``spark`` (Java) or ``re2``
    (the in-process evaluator: RE2, as DuckDB). Raises :class:`RegexUnsupported` naming
    the engine and the construct.
    """
    writer = _Writer(engine, label or engine, pattern)
    try:
        parsed = P.parse(pattern, 0)
    except re.error as exc:
        raise writer.refuse(f"it does not compile ({exc})") from None
    flags = parsed.state.flags
    if flags & re.MULTILINE:
        raise writer.refuse("multi-line mode '(?m)'")
    return writer.seq(list(parsed.data), flags, True, True)


def char_class(points: Iterable[int], engine: str) -> str:
    """A bracket expression for exactly the given code points, in ``engine``'s syntax."""
    ranges: list[list[int]] = []
    for cp in sorted(set(points)):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return _Writer(engine, engine, "").ranges(tuple((a, b) for a, b in ranges))


def not_char_class(points: Iterable[int], engine: str) -> str:
    """A bracket expression for every code point except the given ones."""
    inside = set(points)
    ranges = _complement(tuple((p, p) for p in sorted(inside)))
    return _Writer(engine, engine, "").ranges(merge(ranges))


def fold_chars(letter: str) -> set[int]:
    """Every character equal to ``letter`` ignoring case (see :mod:`.folding`)."""
    return set(fold_class(ord(letter)))


# -------------------------------------------------------------------- the in-process matcher

_SURROGATE = re.compile("[\ud800-\udfff]")
_REPLACEMENT = "\ufffd"


class _Matcher(Protocol):
    """What the evaluator uses of a compiled RE2 pattern (google-re2 has no types)."""

    def search(self, text: str) -> object | None: ...


@lru_cache(maxsize=4096)
def _compiled(pattern: str) -> _Matcher:
    import re2

    source = translate(pattern, INPROCESS, "the in-process evaluator")
    options = re2.Options()
    options.max_mem = RE2_MAX_MEM
    try:
        matcher: _Matcher = re2.compile(source, options)
    except re2.error as exc:
        raise RegexUnsupported(
            f"the regular expression {pattern!r} is too large to run ({exc})",
            "a pattern too large for RE2",
            "make it smaller: fewer or lower repeat counts, fewer alternatives",
        ) from None
    return matcher


def check(pattern: str) -> None:
    """Raise :class:`RegexUnsupported` (with the construct and a fix) unless the
    in-process evaluator can run ``pattern`` (Python syntax) with Python's meaning."""
    _compiled(pattern)


def search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` is found in ``text``, in time linear in the text (RE2).

    A lone surrogate (never valid in UTF-8, so never in an SQL engine's text) is
    read as U+FFFD, the replacement character.
    """
    if not text.isascii() and _SURROGATE.search(text):
        text = _SURROGATE.sub(_REPLACEMENT, text)
    return _compiled(pattern).search(text) is not None

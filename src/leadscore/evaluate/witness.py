"""Example texts that a regular expression matches, one per alternative.

Used by progressive profiling to try the answers a model's ``matches``
conditions look for: ``(?i)\\b(ceo|cto|vp)\\b`` gives ``ceo``, ``cto`` and
``vp``. Only common constructs are followed (literals, classes, groups,
alternatives, repeats, anchors); every example is checked against the pattern
and dropped if it does not match.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache

try:  # Python 3.11+
    from re import _constants as C  # type: ignore[attr-defined]
    from re import _parser as P  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_constants as C  # type: ignore[no-redef]
    import sre_parse as P  # type: ignore[no-redef]

MAX_EXAMPLES = 24
_CATEGORY_CHAR = {
    C.CATEGORY_DIGIT: "0",
    C.CATEGORY_NOT_DIGIT: "a",
    C.CATEGORY_SPACE: " ",
    C.CATEGORY_NOT_SPACE: "a",
    C.CATEGORY_WORD: "a",
    C.CATEGORY_NOT_WORD: " ",
}


def _class_char(items) -> str:
    negated = any(op is C.NEGATE for op, _ in items)
    if negated:
        return "x"
    for op, arg in items:
        if op is C.LITERAL:
            return chr(arg)
        if op is C.RANGE:
            return chr(arg[0])
        if op is C.CATEGORY:
            return _CATEGORY_CHAR.get(arg, "a")
    return "a"


def _gen(items) -> list[str]:
    parts: list[list[str]] = []
    for op, arg in items:
        if op is C.LITERAL:
            parts.append([chr(arg)])
        elif op is C.NOT_LITERAL:
            parts.append(["a" if arg != ord("a") else "b"])
        elif op is C.ANY:
            parts.append(["x"])
        elif op is C.IN:
            parts.append([_class_char(arg)])
        elif op is C.CATEGORY:
            parts.append([_CATEGORY_CHAR.get(arg, "a")])
        elif op is C.SUBPATTERN:
            parts.append(_gen(arg[-1]))
        elif op is C.BRANCH:
            alts: list[str] = []
            for alt in arg[1]:
                alts.extend(_gen(alt))
            parts.append(alts[:MAX_EXAMPLES])
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
            low, _high, sub = arg
            inner = _gen(sub)
            parts.append([w * low for w in inner] if low else [""])
        elif op is getattr(C, "ATOMIC_GROUP", None):
            parts.append(_gen(arg))
        else:  # anchors, look-arounds, back-references: nothing to write
            parts.append([""])
    out = []
    for combo in itertools.islice(itertools.product(*parts), MAX_EXAMPLES):
        out.append("".join(combo))
    return out


@lru_cache(maxsize=1024)
def witnesses(pattern: str) -> tuple[str, ...]:
    """Texts matched by ``pattern`` (searched), one per alternative where possible."""
    try:
        parsed = P.parse(pattern)
        compiled = re.compile(pattern)
    except (re.error, RecursionError):
        return ()
    try:
        found = _gen(list(parsed))
    except (RecursionError, ValueError, TypeError):
        return ()
    seen: list[str] = []
    for text in found:
        text = text.strip()
        if text and text not in seen and compiled.search(text):
            seen.append(text)
    return tuple(seen)

"""What differs between the SQL engines, as small expression builders.

Every function here returns a SQLGlot expression whose meaning is the same on
every engine; where an engine's built-in differs (lower-casing, trimming,
reading numbers and times), the difference is spelled out here once.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from sqlglot import exp

# The characters Python's str.strip() removes: value semantics trim these, not just spaces.
WHITESPACE = "".join(chr(i) for i in range(sys.maxunicode + 1) if chr(i).isspace())

# values.NUMBER_RE without its anchors, in the syntax every engine shares
NUMBER_BODY = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
# Times that every engine reads the same way (see docs/sql-engines.md, "Times").
TIME_BODY = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[T ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?)?"
)
# Exact limits where text → double rounds to ±inf or to 0 (for engines without a try-cast).
_OVERFLOW = Decimal(2**1024 - 2**970)  # exact: built from an int
_UNDERFLOW = Decimal(f"{5**1075}E-1075")  # exactly 2**-1075 (from text: no rounding)
US = 1_000_000
DAY_US = 86_400 * US


def s(value: str) -> exp.Expr:
    return exp.Literal.string(value)


def n(value: int) -> exp.Expr:
    return exp.Literal.number(int(value))


def dbl(value: float) -> exp.Expr:
    """A DOUBLE literal (a bare 0.5 is DECIMAL on DuckDB and PostgreSQL)."""
    return exp.cast(s(repr(float(value))), exp.DataType.build("double"))


def case(*whens: tuple[exp.Expr, exp.Expr], default: exp.Expr | None = None) -> exp.Expr:
    out = exp.Case()
    for cond, value in whens:
        out = out.when(cond, value)
    return out.else_(default) if default is not None else out


def coalesce_false(e: exp.Expr) -> exp.Expr:
    return exp.func("COALESCE", e, exp.false())


def _class(chars: str, engine: str) -> str:
    from ..regex import char_class

    return char_class(map(ord, chars), engine)


def _not_class(chars: str, engine: str) -> str:
    from ..regex import not_char_class

    return not_char_class(map(ord, chars), engine)


@lru_cache(maxsize=256)
def _fold_class(ch: str, engine: str) -> str:
    from ..regex import char_class, fold_chars

    return char_class(fold_chars(ch), engine)


@dataclass(frozen=True)
class Dialect:
    """Base: the SQL standard spellings; engines override what differs."""

    name: str  # sqlglot dialect
    label: str  # what users call it
    supports_word_boundary: bool = True

    def lower(self, e: exp.Expr) -> exp.Expr:
        return exp.Lower(this=e)

    def fold(self, e: exp.Expr, literals: Iterable[str]) -> exp.Expr:
        """``e`` case folded as far as comparing it with the folded ``literals`` needs
        (see :func:`leadscore.engine.folding.pairs_for`): every engine's TRANSLATE
        maps code points one to one, where LOWER differs from engine to engine."""
        from ..folding import pairs_for

        src, dst = pairs_for(literals)
        if not src:
            return e
        return exp.Anonymous(this="TRANSLATE", expressions=[e, s(src), s(dst)])

    def trim_ws(self, e: exp.Expr) -> exp.Expr:
        return exp.Trim(this=e, expression=s(WHITESPACE))

    def regex(self, e: exp.Expr, pattern: str) -> exp.Expr:
        """True when ``pattern`` (already in this engine's syntax) is found in ``e``."""
        return exp.RegexpLike(this=e, expression=s(pattern))

    def full_match(self, e: exp.Expr, body: str) -> exp.Expr:
        """True when all of ``e`` matches ``body`` (this engine's syntax)."""
        end = "\\Z" if self.name == "postgres" else "\\z"
        return self.regex(e, f"^(?:{body}){end}")

    def ws(self) -> str:
        """A class of Python's whitespace (what str.strip() removes)."""
        return _class(WHITESPACE, self.name)

    def non_ws(self) -> str:
        return _not_class(WHITESPACE, self.name)

    def present(self, e: exp.Expr) -> exp.Expr:
        """True when ``e`` is not NULL and holds a character that str.strip() keeps."""
        return coalesce_false(self.regex(e.copy(), self.non_ws()))

    def word_forms(self, words: Iterable[str]) -> str:
        """``words`` as a pattern matching any text equal to one of them ignoring case."""
        return "|".join("".join(_fold_class(ch, self.name) for ch in w) for w in sorted(words))

    def epoch_us(self, ts: exp.Expr) -> exp.Expr:
        raise NotImplementedError

    def after_last_at(self, e: exp.Expr) -> exp.Expr:
        """The text after the last ``@`` (empty or NULL when there is none)."""
        return exp.RegexpExtract(this=e, expression=s("@([^@]*)$"), group=n(1))

    def read_number(self, x: exp.Expr) -> exp.Expr:
        """Text → DOUBLE when all of it is a number (NUMBER_BODY, whitespace around it
        allowed), else NULL."""
        ws = self.ws()
        return case(
            (
                coalesce_false(self.full_match(x.copy(), f"{ws}*(?:{NUMBER_BODY}){ws}*")),
                self.try_double(self.trim_ws(x.copy())),
            )
        )

    def try_double(self, text: exp.Expr) -> exp.Expr:
        """Text already known to match NUMBER_BODY → DOUBLE, or NULL when not finite."""
        raw = exp.TryCast(this=text, to=exp.DataType.build("double"), safe=True)
        return case((exp.Abs(this=raw) <= dbl(sys.float_info.max), raw))

    def try_timestamp_us(self, text: exp.Expr) -> exp.Expr:
        """Text known to match TIME_BODY → microseconds since the epoch (NULL: no such day)."""
        return self.epoch_us(
            exp.TryCast(this=text, to=exp.DataType.build("timestamptz"), safe=True)
        )

    def floor_div(self, a: exp.Expr, b: int) -> exp.Expr:
        return exp.Floor(this=exp.Div(this=exp.cast(a, "double"), expression=dbl(b)))

    def half(self, x: exp.Expr) -> exp.Expr:
        """0.5 ** x (x ≥ 0), as Python computes it."""
        return exp.Pow(this=dbl(0.5), expression=x)

    def boolean_type(self) -> str:
        return "boolean"


class DuckDB(Dialect):
    def fold(self, e: exp.Expr, literals: Iterable[str]) -> exp.Expr:
        translated = super().fold(e, literals)
        if translated is e:
            return e
        # DuckDB's TRANSLATE costs ten times LOWER; on ASCII text (one byte per character)
        # simple case folding is exactly LOWER, so only other text pays for TRANSLATE.
        one_byte_each = exp.Anonymous(this="STRLEN", expressions=[e.copy()]).eq(
            exp.Length(this=e.copy())
        )
        return case((one_byte_each, exp.Lower(this=e.copy())), default=translated)

    def epoch_us(self, ts: exp.Expr) -> exp.Expr:
        return exp.Anonymous(this="EPOCH_US", expressions=[ts])

    def regex(self, e: exp.Expr, pattern: str) -> exp.Expr:
        return exp.Anonymous(this="REGEXP_MATCHES", expressions=[e, s(pattern)])

    def full_match(self, e: exp.Expr, body: str) -> exp.Expr:
        return exp.Anonymous(this="REGEXP_FULL_MATCH", expressions=[e, s(body)])

    def present(self, e: exp.Expr) -> exp.Expr:
        # Most texts start with a printable ASCII character, which is no whitespace: the
        # regular expression only reads the others (blank, NULL, or starting otherwise).
        first = exp.Anonymous(this="ASCII", expressions=[e.copy()])
        return case(
            (exp.Between(this=first, low=n(33), high=n(126)), exp.true()),
            default=super().present(e),
        )

    def floor_div(self, a: exp.Expr, b: int) -> exp.Expr:
        # Integer arithmetic (a hash on BIGINT, not on DOUBLE); // truncates towards zero,
        # so times before 1970 take the other branch to round down as Python does.
        pos = exp.IntDiv(this=a.copy(), expression=n(b))
        neg = exp.Sub(
            this=exp.IntDiv(
                this=exp.paren(exp.Add(this=a.copy(), expression=n(1))), expression=n(b)
            ),
            expression=n(1),
        )
        return case((a.copy() >= n(0), pos), default=neg)

    def read_number(self, x: exp.Expr) -> exp.Expr:
        # One regular expression finds the number and cuts the whitespace around it
        # (TRIM with a list of characters costs twenty times as much); no number: ''.
        ws = self.ws()
        found = exp.RegexpExtract(
            this=x.copy(), expression=s(f"^{ws}*({NUMBER_BODY}){ws}*\\z"), group=n(1)
        )
        return self.try_double(found)


class Postgres(Dialect):
    """PostgreSQL ≥ 14: ICU for lower-casing (as Python does), no try-cast."""

    def lower(self, e: exp.Expr) -> exp.Expr:
        return exp.Lower(
            this=exp.Collate(this=e, expression=exp.Identifier(this="und-x-icu", quoted=True))
        )

    def trim_ws(self, e: exp.Expr) -> exp.Expr:
        return exp.Anonymous(this="BTRIM", expressions=[e, s(WHITESPACE)])

    def after_last_at(self, e: exp.Expr) -> exp.Expr:
        return exp.Anonymous(this="SUBSTRING", expressions=[e, s("@([^@]*)$")])

    def epoch_us(self, ts: exp.Expr) -> exp.Expr:
        # EXTRACT(EPOCH ...) is an exact numeric since PostgreSQL 14.
        micros = exp.Mul(this=exp.Extract(this=exp.var("EPOCH"), expression=ts), expression=n(US))
        return exp.cast(micros, "bigint")

    def try_double(self, text: exp.Expr) -> exp.Expr:
        # No try-cast: decide overflow and underflow on the exact numeric value first.
        # Exponents of four or more digits are out of NUMERIC's range: decided by sign.
        big_exp = exp.RegexpLike(this=text, expression=s(r"[eE]\+?[0-9]{4,}$"))
        tiny_exp = exp.RegexpLike(this=text, expression=s(r"[eE]-[0-9]{4,}$"))
        zero = exp.RegexpLike(this=text, expression=s(r"^[+-]?[0.]*([eE].*)?$"))
        num = exp.cast(text, "numeric")
        absnum = exp.Abs(this=num)
        return case(
            (zero, dbl(0.0)),
            (big_exp, exp.null()),
            (tiny_exp, dbl(0.0)),
            (absnum >= exp.cast(s(str(_OVERFLOW)), "numeric"), exp.null()),
            (absnum <= exp.cast(s(format(_UNDERFLOW, "f")), "numeric"), dbl(0.0)),
            default=exp.cast(text, exp.DataType.build("double")),
        )

    def try_timestamp_us(self, text: exp.Expr) -> exp.Expr:
        # No try-cast: check the calendar day first (TIME_BODY checked the rest).
        y = exp.cast(exp.Substring(this=text, start=n(1), length=n(4)), "int")
        m = exp.cast(exp.Substring(this=text, start=n(6), length=n(2)), "int")
        d = exp.cast(exp.Substring(this=text, start=n(9), length=n(2)), "int")
        leap = exp.or_(
            exp.and_(
                exp.Mod(this=y, expression=n(4)).eq(0), exp.Mod(this=y, expression=n(100)).neq(0)
            ),
            exp.Mod(this=y, expression=n(400)).eq(0),
        )
        days = case(
            (exp.In(this=m, expressions=[n(4), n(6), n(9), n(11)]), n(30)),
            (m.eq(2), case((leap, n(29)), default=n(28))),
            default=n(31),
        )
        valid = exp.and_(y >= 1, m >= 1, m <= 12, d >= 1, d <= days)
        return case((valid, self.epoch_us(exp.cast(text, "timestamptz"))))

    def floor_div(self, a: exp.Expr, b: int) -> exp.Expr:
        return exp.Floor(this=exp.Div(this=exp.cast(a, "numeric"), expression=n(b)))

    def half(self, x: exp.Expr) -> exp.Expr:
        # PostgreSQL raises an error where a float result underflows to zero (Python gives
        # 0.0): factors below 2**-1000 count as zero, a difference under 1e-300 points.
        return case(
            (x >= dbl(1000.0), dbl(0.0)), default=exp.Pow(this=dbl(0.5), expression=x.copy())
        )


class Spark(Dialect):
    def epoch_us(self, ts: exp.Expr) -> exp.Expr:
        return exp.Anonymous(this="UNIX_MICROS", expressions=[ts])

    def try_timestamp_us(self, text: exp.Expr) -> exp.Expr:
        return self.epoch_us(exp.TryCast(this=text, to=exp.DataType.build("timestamp"), safe=True))


DIALECTS: dict[str, Dialect] = {
    "duckdb": DuckDB("duckdb", "DuckDB"),
    "postgres": Postgres("postgres", "PostgreSQL", supports_word_boundary=False),
    "spark": Spark("spark", "Spark"),
}


def get_dialect(name: str) -> Dialect:
    key = {"postgresql": "postgres", "pg": "postgres"}.get(name, name)
    if key not in DIALECTS:
        from ...errors import UsageError

        raise UsageError(f"unknown SQL engine {name!r}: use duckdb, postgres or spark")
    return DIALECTS[key]

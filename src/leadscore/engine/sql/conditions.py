"""Conditions and value semantics as SQL, the same meaning as engine/values.py and
engine/conditions.py: every predicate is two-valued (never NULL), so NOT, OR and
aggregate filters behave as in Python."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

from sqlglot import exp

from ...model.conditions import AllOf, AnyOf, Condition, Not, Predicate, Scalar
from .. import values as V
from ..folding import fold
from ..regex import RegexUnsupported, translate
from .dialects import Dialect, coalesce_false, dbl, s

Resolver = Callable[[str], tuple[exp.Expr, str]]
"""A field name → (its expression, its kind: ``text``, ``number`` or ``maybe_number``)."""


class Unsupported(ValueError):
    """A model construct this engine cannot run with the reference meaning."""


def null_text() -> exp.Expr:
    return exp.cast(exp.null(), "varchar")


class Values:
    """Value semantics for text columns (NULL or VARCHAR)."""

    def __init__(self, dialect: Dialect):
        self.d = dialect

    def missing(self, x: exp.Expr) -> exp.Expr:
        return exp.Not(this=self.present(x))

    def present(self, x: exp.Expr) -> exp.Expr:
        """Not NULL and not blank: some character that str.strip() keeps."""
        return self.d.present(x)

    def number(self, x: exp.Expr) -> exp.Expr:
        return self.d.read_number(x)

    def equals(self, x: exp.Expr, literal: Scalar) -> exp.Expr:
        if isinstance(literal, bool):
            words = V.TRUE_WORDS if literal else V.FALSE_WORDS
            ws = self.d.ws()
            body = f"{ws}*(?:{self.d.word_forms(words)}){ws}*"
            return coalesce_false(self.d.full_match(x.copy(), body))
        if isinstance(literal, int | float):
            return coalesce_false(self.number(x).eq(dbl(literal)))
        if literal.strip() == "":
            return exp.false()  # a present value is never blank
        return coalesce_false(self.d.fold(x.copy(), [literal]).eq(s(fold(literal))))

    def any_equals(self, x: exp.Expr, literals: Sequence[Scalar]) -> exp.Expr:
        raw = [v for v in literals if isinstance(v, str) and v.strip()]
        texts = sorted({fold(v) for v in raw})
        parts = [self.equals(x, v) for v in literals if not isinstance(v, str)]
        if texts:
            low = self.d.fold(x.copy(), raw)
            parts.insert(0, coalesce_false(exp.In(this=low, expressions=[s(t) for t in texts])))
        if not parts:
            return exp.false()
        return exp.or_(*parts) if len(parts) > 1 else parts[0]

    def text_test(self, x: exp.Expr, op: str, value: str, label: str) -> exp.Expr:
        if op == "matches":
            try:
                pattern = translate(value, self.d.name, label)
            except RegexUnsupported as exc:
                raise Unsupported(str(exc)) from None
            return exp.and_(self.present(x), coalesce_false(self.d.regex(x.copy(), pattern)))
        needle = fold(value)
        low = self.d.fold(x.copy(), [value])
        test: exp.Expr
        if op == "contains":
            test = exp.StrPosition(this=low, substr=s(needle)) > 0
        elif op == "starts_with":
            test = exp.Left(this=low, expression=exp.Literal.number(len(needle))).eq(s(needle))
        else:
            test = exp.Right(this=low, expression=exp.Literal.number(len(needle))).eq(s(needle))
        test = coalesce_false(test)
        if needle.strip() == "":  # a blank needle would be found in a blank (missing) value
            test = exp.and_(self.present(x), test)
        return test


class Compiler:
    """Compile conditions over one kind of record (contact, event or score)."""

    def __init__(self, dialect: Dialect, resolve: Resolver):
        """``resolve(field)`` gives (expression, kind) with kind 'text' or 'number'."""
        self.d = dialect
        self.v = Values(dialect)
        self.resolve = resolve

    def __call__(self, cond: Condition | None) -> exp.Expr:
        if cond is None:
            return exp.true()
        if isinstance(cond, Predicate):
            x, kind = self.resolve(cond.field)
            if kind == "number":
                return self.numeric(cond, x)
            if kind == "maybe_number":
                return self.maybe_numeric(cond, x)
            return self.predicate(cond, x)
        if isinstance(cond, AllOf):
            return exp.and_(*[exp.paren(self(c)) for c in cond.items])
        if isinstance(cond, AnyOf):
            return exp.paren(exp.or_(*[exp.paren(self(c)) for c in cond.items]))
        if isinstance(cond, Not):
            return exp.Not(this=exp.paren(self(cond.item)))
        raise TypeError(f"not a condition: {cond!r}")

    def predicate(self, p: Predicate, x: exp.Expr) -> exp.Expr:
        # Each operator has its kind of value (see model.conditions._predicate).
        op, v = p.op, self.v
        if op == "missing":
            return exp.paren(v.missing(x))
        if op == "exists":
            return exp.paren(v.present(x))
        if op == "eq":
            return v.equals(x, cast(Scalar, p.value))
        if op == "ne":
            return exp.Not(this=v.equals(x, cast(Scalar, p.value)))
        if op == "in":
            return exp.paren(v.any_equals(x, cast(tuple[Scalar, ...], p.value)))
        if op == "not_in":
            return exp.Not(this=exp.paren(v.any_equals(x, cast(tuple[Scalar, ...], p.value))))
        if op in ("gt", "gte", "lt", "lte", "between"):
            return self._compare(op, v.number(x), p.value)
        return v.text_test(x, op, cast(str, p.value), self.d.label)

    def _compare(self, op: str, num: exp.Expr, value: object) -> exp.Expr:
        """``value``: [low, high] for ``between``, else a number."""
        test: exp.Expr
        if op == "between":
            bounds = cast(tuple[float, float], value)
            test = exp.Between(this=num, low=dbl(bounds[0]), high=dbl(bounds[1]))
        else:
            cls = {"gt": exp.GT, "gte": exp.GTE, "lt": exp.LT, "lte": exp.LTE}[op]
            test = cls(this=num, expression=dbl(cast(float, value)))
        return coalesce_false(test)

    def numeric(self, p: Predicate, x: exp.Expr) -> exp.Expr:
        """A score (a finite number, never missing): only numeric tests make sense."""
        op, value = p.op, p.value
        if op == "missing":
            return exp.false()
        if op == "exists":
            return exp.true()
        if op in ("gt", "gte", "lt", "lte", "between"):
            return self._compare(op, x, value)
        if op in ("eq", "ne", "in", "not_in"):
            items = value if isinstance(value, tuple) else (value,)
            if any(isinstance(i, str) for i in items):
                raise Unsupported(
                    f"the score {p.field!r} is a number: compare it with numbers, not text "
                    f"({items!r})"
                )
            nums = [i for i in items if not isinstance(i, bool)]  # true/false never equal a score
            test = (
                exp.or_(*[x.copy().eq(dbl(cast(float, i))) for i in nums]) if nums else exp.false()
            )
            return exp.Not(this=exp.paren(test)) if op in ("ne", "not_in") else exp.paren(test)
        raise Unsupported(
            f"the score {p.field!r} is a number: '{op}' tests text; use gt, gte, lt, lte, "
            "between or eq with a number"
        )

    def maybe_numeric(self, p: Predicate, x: exp.Expr) -> exp.Expr:
        """A score that is NULL where it does not apply (an account score of a contact
        with no account): missing then, and every test two-valued as in Python."""
        op = p.op
        if op == "missing":
            return exp.paren(exp.Is(this=x, expression=exp.null()))
        if op == "exists":
            return exp.Not(this=exp.paren(exp.Is(this=x, expression=exp.null())))
        if op not in ("eq", "ne", "in", "not_in"):
            return self.numeric(p, x)  # comparisons are already false for NULL
        value = cast(Scalar | tuple[Scalar, ...], p.value)  # eq, ne: a value; in, not_in: a list
        equal = self.numeric(Predicate(field=p.field, op="in", value=_items(value)), x)
        equal = coalesce_false(equal)
        return exp.Not(this=equal) if op in ("ne", "not_in") else equal


def _items(value: Scalar | tuple[Scalar, ...]) -> tuple[Scalar, ...]:
    return value if isinstance(value, tuple) else (value,)

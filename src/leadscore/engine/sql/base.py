"""Shared pieces of the SQL compiler: the data source, the compile context, column
references, record access and times."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from sqlglot import exp

from ...errors import ModelError, Problem
from ...model.accounts import ACCOUNT, AccountScoring
from ...model.conditions import Condition
from ...model.schema import (
    CompletenessRule,
    EventRule,
    FrequencyRule,
    InactivityRule,
    PropertyRule,
    ScoringModel,
)
from .. import values as V
from .conditions import Resolver, Unsupported, null_text
from .dialects import TIME_BODY, Dialect, case, coalesce_false, n, s

T = TypeVar("T")
EVENT_CORE_FIELDS = ("ts", "id", "event_id", "contact_id")  # never attributes (inprocess.to_event)


@dataclass(frozen=True)
class Source:
    """Where the data is and what it looks like."""

    contacts_table: str = "contacts"
    events_table: str = "events"
    contact_columns: tuple[str, ...] = ("id",)  # id + properties
    event_columns: tuple[str, ...] = ("contact_id", "event_id", "type", "ts")
    has_events: bool = True
    cast_text: bool = False  # the tables may hold non-text columns: read them as text


@dataclass(frozen=True)
class AccountJoin:
    """How the contacts CTE reads each contact's account (see ``sql/accounts.py``).

    ``fields`` are the ``account.<name>`` columns the contact rules read, with their
    kind (``text`` or ``maybe_number``: a score, NULL when the contact has no account).
    """

    accounts_table: str
    account_columns: tuple[str, ...]
    domains_table: str  # (domain, account_id): the domains that link contacts
    scores_table: str | None  # account scores to read (None: properties only)
    fields: dict[str, str]


@dataclass(frozen=True)
class CompileContext:
    """What compiling one model's query needs: the model, the dialect, the data, the
    as-of time, and what the query shares between its steps (``conds``, ``problems``).

    Contact queries score with the model itself; account queries (``key`` is
    ``account_id``) give ``scoring``, the model's account section: :attr:`spine`
    is what groups, total, grades and stages come from either way.
    """

    model: ScoringModel
    d: Dialect
    src: Source
    as_of_us: int
    as_of_column: str | None
    # a condition's JSON → (its column, the condition)
    conds: dict[str, tuple[str, Condition | None]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    accounts: AccountJoin | None = None  # contacts read their account's fields
    carry: tuple[str, ...] = ()  # contacts CTE columns kept to the final select
    key: str = "contact_id"  # the key column of the scored rows
    scoring: AccountScoring | None = None  # account queries: the account section
    # whether the rows carry ``matrix`` and ``quadrant`` (None: when the model has a matrix)
    matrix_columns: bool | None = None

    @property
    def with_matrix(self) -> bool:
        """Whether the contact rows end with the ``matrix`` and ``quadrant`` columns."""
        if self.scoring is not None:
            return False
        if self.matrix_columns is not None:
            return self.matrix_columns
        return self.model.matrix is not None

    @property
    def spine(self) -> ScoringModel | AccountScoring:
        """What groups, total, grades and stages come from."""
        return self.model if self.scoring is None else self.scoring


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def table_ref(name: str) -> exp.Table:
    parts = name.split(".")
    if len(parts) == 1:
        return exp.Table(this=ident(parts[0]))
    return exp.Table(this=ident(parts[-1]), db=ident(parts[-2]))


def as_of_micros(when: datetime | str) -> int:
    when = V.timestamp(when)
    return (when - datetime(1970, 1, 1, tzinfo=when.tzinfo)) // _US_DELTA


_US_DELTA = timedelta(microseconds=1)


def parse_time_us(d: Dialect, x: exp.Expr) -> exp.Expr:
    """Text → microseconds since the epoch, NULL when missing or not a time we read.

    The text is brought to one form every engine reads the same way:
    ``YYYY-MM-DDTHH:MM:SS[.ffffff]+HH:MM`` (no zone means UTC, as in Python)."""
    t = d.trim_ws(x.copy())
    no_seconds = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})?$"
    t2 = case(
        (exp.Length(this=t.copy()).eq(10), exp.DPipe(this=t.copy(), expression=s("T00:00:00"))),
        (
            coalesce_false(d.regex(t.copy(), no_seconds)),
            exp.DPipe(
                this=exp.DPipe(
                    this=exp.Substring(this=t.copy(), start=n(1), length=n(16)),
                    expression=s(":00"),
                ),
                expression=exp.Substring(this=t.copy(), start=n(17)),
            ),
        ),
        default=t.copy(),
    )
    has_zone = coalesce_false(d.regex(t.copy(), r"(Z|[+-][0-9]{2}:[0-9]{2})$"))
    normal = case(
        (has_zone, exp.func("REPLACE", t2, s("Z"), s("+00:00"))),
        default=exp.DPipe(this=t2.copy(), expression=s("+00:00")),
    )
    ws = d.ws()
    readable = coalesce_false(d.full_match(x.copy(), f"{ws}*(?:{TIME_BODY}){ws}*"))
    return case((readable, d.try_timestamp_us(normal)))


def engine_hint(d: Dialect) -> str:
    return f"change the model or score with another engine than {d.label} (e.g. --engine inprocess)"


def located(ctx: CompileContext, where: tuple[str | int, ...], fn: Callable[[], T]) -> T:
    try:
        return fn()
    except Unsupported as exc:
        raise ModelError([Problem(where, str(exc), engine_hint(ctx.d))]) from None


# ----------------------------------------------------------------------------- record access


def as_text(src: Source, e: exp.Expr) -> exp.Expr:
    return exp.cast(e, "varchar") if src.cast_text else e


def contact_resolver(ctx: CompileContext, table: str | None = None) -> Resolver:
    columns = set(ctx.src.contact_columns)
    join = ctx.accounts

    def resolve(name: str) -> tuple[exp.Expr, str]:
        if join is not None and name.startswith(ACCOUNT):
            if name in join.fields:  # a contact's own 'account.x' column is not read then
                return col(name, table), join.fields[name]
            return null_text(), "text"
        return (col(_prop(name), table) if name in columns else null_text()), "text"

    return resolve


def _prop(name: str) -> str:
    return "contact_id" if name == "id" else name


def event_resolver(ctx: CompileContext, table: str | None = None) -> Resolver:
    columns = set(ctx.src.event_columns)

    def resolve(name: str) -> tuple[exp.Expr, str]:
        if name in EVENT_CORE_FIELDS or name not in columns:
            return null_text(), "text"
        return as_text(ctx.src, col(name, table)), "text"

    return resolve


def contact_fields(ctx: CompileContext) -> list[str]:
    from ...model.conditions import condition_fields

    wanted: set[str] = set()
    for _, rule in ctx.model.rules():
        if isinstance(rule, PropertyRule):
            if rule.when is not None:
                wanted |= condition_fields(rule.when)
            for c in rule.cases:
                wanted |= condition_fields(c.when)
        if isinstance(rule, CompletenessRule):
            wanted |= set(rule.properties)
    for exc in ctx.model.exclusions:
        if exc.when is not None:
            wanted |= condition_fields(exc.when)
    cols = set(ctx.src.contact_columns)
    own = ctx.accounts is None
    return sorted(
        f for f in wanted if f in cols and f != "id" and (own or not f.startswith(ACCOUNT))
    )


# ----------------------------------------------------------------------------- query


def uses_reset(model: ScoringModel) -> bool:
    return any(
        g.reset_on_stage
        and any(isinstance(r, EventRule | FrequencyRule | InactivityRule) for r in g.rules)
        for g in model.groups.values()
    )


def cond_column(ctx: CompileContext, cond: Condition | None) -> str:
    key = cond.model_dump_json() if cond is not None else "null"
    if key not in ctx.conds:
        ctx.conds[key] = (f"__k{len(ctx.conds)}", cond)
    return ctx.conds[key][0]


def as_of_value(ctx: CompileContext, per_row: bool = True) -> exp.Expr:
    if ctx.as_of_column is not None or (uses_reset(ctx.model) and per_row):
        return col("__asof_us")
    return exp.Literal.number(ctx.as_of_us)

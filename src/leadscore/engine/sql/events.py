"""The event side of the query: de-duplicated events with a boolean per filter, one
pass of filtered aggregates, windows for repetition limits, decay factors."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from sqlglot import exp

from ...model.conditions import Condition
from ...model.schema import (
    Decay,
    EventRule,
    Exclusion,
    FrequencyRule,
    InactivityRule,
)
from .base import (
    CompileContext,
    as_of_value,
    as_text,
    col,
    cond_column,
    event_resolver,
    ident,
    located,
    table_ref,
    uses_reset,
)
from .conditions import Compiler, Values, null_text
from .dialects import DAY_US, US, case, dbl, n

EventLike = EventRule | FrequencyRule | InactivityRule
EventRules = Sequence[tuple[str, EventLike]]
"""The model's event rules in order, each with its group's name."""


Step = tuple[str, exp.Expr, bool | None]
"""A CTE: its name, its query, and whether it is materialized (None: as the engine decides)."""


def event_steps(
    ctx: CompileContext, event_rules: EventRules, join: bool, reset: bool
) -> list[Step]:
    """The CTEs ending in ``__m``: events of known contacts up to their as-of time, one
    per event id, each with a boolean per event filter (see :func:`events_cte`).

    On DuckDB a repeated event id is found by a hash of (contact, key) first: a small
    grouping of one number per event, instead of a window over every event (which must
    hold them all and spills at the default memory limit). Only the events whose hash
    repeats go through the exact window (a collision costs a few rows, never a wrong
    one); every other event is its own first delivery. ``__i`` is not materialized
    (its three readers scan the events with only their own columns); ``__m`` is left
    to DuckDB, which keeps it for its readers."""
    if ctx.d.name != "duckdb":
        return [("__m", events_cte(ctx, event_rules, join, reset), None)]
    inner, keep = _events_inner(ctx, event_rules, join, reset)
    h = exp.Anonymous(this="HASH", expressions=[col("contact_id", "ev"), col("__key", "ev")])
    i_query = exp.select(exp.Star(), exp.alias_(h, "__h", quoted=True)).from_(
        exp.alias_(exp.Subquery(this=inner), "ev", quoted=True)
    )
    keyed = exp.Not(this=exp.Is(this=col("__key"), expression=exp.null()))
    dup = (
        exp.select(col("__h"))
        .from_("__i")
        .where(keyed)
        .group_by(col("__h"))
        .having(exp.Count(this=exp.Star()) > n(1))
    )
    repeated = col("__h").isin(query=exp.select(col("__h")).from_("__dup"))
    single = (
        exp.select(*[col(k) for k in keep])
        .from_("__i")
        .where(exp.or_(exp.Is(this=col("__key"), expression=exp.null()), exp.Not(this=repeated)))
    )
    # The repeated ones, from the events again: the hash test comes before the filter
    # booleans, so those are computed for these few events only.
    chosen = {a.alias: a.this for a in inner.expressions if isinstance(a, exp.Alias)}
    raw_h = exp.Anonymous(
        this="HASH", expressions=[chosen["contact_id"].copy(), chosen["__key"].copy()]
    )
    again = inner.copy().where(
        exp.and_(
            exp.Not(this=exp.Is(this=chosen["__key"].copy(), expression=exp.null())),
            raw_h.isin(query=exp.select(col("__h")).from_("__dup")),
        )
    )
    ranked = exp.select(
        *[col(k) for k in keep], exp.alias_(_first_window(), "__rn", quoted=True)
    ).from_(exp.alias_(exp.Subquery(this=again), "__r2", quoted=True))
    firsts = (
        exp.select(*[col(k) for k in keep])
        .from_(exp.alias_(exp.Subquery(this=ranked), "__d", quoted=True))
        .where(col("__rn").eq(1))
    )
    m = exp.union(single, firsts, distinct=False)
    return [("__i", i_query, False), ("__dup", dup, True), ("__m", m, None)]


def _first_window() -> exp.Window:
    """One event per (contact, key): the earliest, then the smallest type (inprocess.dedupe)."""
    return exp.Window(
        this=exp.RowNumber(),
        partition_by=[col("contact_id"), col("__key")],
        order=exp.Order(
            expressions=[exp.Ordered(this=col("__ts_us")), exp.Ordered(this=col("type"))]
        ),
    )


def events_cte(ctx: CompileContext, event_rules: EventRules, join: bool, reset: bool) -> exp.Select:
    """Events of known contacts up to their as-of time, one per event id, each with a
    boolean per event filter (computed before de-duplication so that only booleans,
    not attribute texts, go through the window)."""
    inner, keep = _events_inner(ctx, event_rules, join, reset)
    ranked = exp.select(
        *[col(k) for k in keep], col("__key"), exp.alias_(_first_window(), "__rn", quoted=True)
    ).from_(exp.alias_(exp.Subquery(this=inner), "__i", quoted=True))
    return (
        exp.select(*[col(k) for k in keep])
        .from_(exp.alias_(exp.Subquery(this=ranked), "__d", quoted=True))
        .where(exp.or_(exp.Is(this=col("__key"), expression=exp.null()), col("__rn").eq(1)))
    )


def _events_inner(
    ctx: CompileContext, event_rules: EventRules, join: bool, reset: bool
) -> tuple[exp.Select, list[str]]:
    """The events with their key, type and filter booleans, and the columns kept after
    de-duplication."""
    d, src = ctx.d, ctx.src
    cols = set(src.event_columns)
    ts_us = d.epoch_us(col("ts", "ev"))
    key: exp.Expr = as_text(src, col("event_id", "ev"))
    if "id" in cols:  # inprocess: an event without event_id falls back to its 'id' attribute
        key = exp.func("COALESCE", key, as_text(src, col("id", "ev")))
    key = case((Values(d).missing(key), null_text()), default=key)
    resolve = event_resolver(ctx, "ev")
    compile_cond = Compiler(d, resolve)
    limit_fields = _limit_fields(event_rules)
    preds = [(name, compile_cond(c)) for name, c in ctx.conds.values()]
    inner_cols = [
        exp.alias_(as_text(src, col("contact_id", "ev")), "contact_id", quoted=True),
        exp.alias_(ts_us, "__ts_us", quoted=True),
        exp.alias_(as_text(src, col("type", "ev")), "type", quoted=True),
        exp.alias_(key, "__key", quoted=True),
        *[exp.alias_(resolve(f)[0], f, quoted=True) for f in limit_fields],
        *[exp.alias_(p, name, quoted=True) for name, p in preds],
    ]
    inner = exp.select(*inner_cols).from_(
        exp.alias_(table_ref(src.events_table), "ev", quoted=True)
    )
    if join:
        inner = inner.select(col("__asof_us", "c"))
        if reset:
            inner = inner.select(col("__entered_us", "c"))
        inner = inner.join(
            exp.alias_(exp.Table(this=ident("__c")), "c", quoted=True),
            on=as_text(src, col("contact_id", "ev")).eq(col("contact_id", "c")),
        )
        inner = inner.where(ts_us.copy() <= col("__asof_us", "c"))
    else:
        inner = inner.where(ts_us.copy() <= exp.Literal.number(ctx.as_of_us))
    keep = ["contact_id", "__ts_us", *limit_fields, *[name for name, _ in preds]]
    if join:
        keep.append("__asof_us")
        if reset:
            keep.append("__entered_us")
    return inner, keep


def matcher(
    ctx: CompileContext, cond: Condition | None, within: int | None, reset: bool
) -> exp.Expr:
    parts: list[exp.Expr] = [col(cond_column(ctx, cond))] if cond is not None else []
    ts = col("__ts_us")
    if within is not None:
        parts.append(ts >= exp.Sub(this=as_of_value(ctx), expression=n(within * US)))
    if reset:
        parts.append(
            exp.paren(
                exp.or_(
                    exp.Is(this=col("__entered_us"), expression=exp.null()),
                    ts.copy() >= col("__entered_us"),
                )
            )
        )
    if not parts:
        return exp.true()
    return exp.and_(*parts)


def register_conditions(
    ctx: CompileContext, event_rules: EventRules, ev_exclusions: Sequence[Exclusion]
) -> None:
    """Give each distinct event filter a boolean column (refusing what the engine can't run)."""
    for gname, rule in event_rules:
        if rule.on is not None:
            located(
                ctx,
                ("groups", gname, "rules", rule.name, "on"),
                partial(Compiler(ctx.d, event_resolver(ctx)), rule.on),
            )
            cond_column(ctx, rule.on)
    for i, x in enumerate(ev_exclusions):
        located(ctx, ("exclusions", i, "on"), partial(Compiler(ctx.d, event_resolver(ctx)), x.on))
        cond_column(ctx, x.on)


def _limit_fields(event_rules: EventRules) -> list[str]:
    return sorted(
        {
            r.limit.per
            for _, r in event_rules
            if isinstance(r, EventRule) and r.limit and r.limit.per not in ("ever", "day")
        }
    )


def _age_seconds(ctx: CompileContext) -> exp.Expr:
    diff = exp.Sub(this=as_of_value(ctx), expression=col("__ts_us"))
    return exp.Div(this=exp.cast(diff, "double"), expression=dbl(float(US)))


def _factor(ctx: CompileContext, decay: Decay) -> exp.Expr | None:
    if decay.kind == "none":
        return None
    age = _age_seconds(ctx)
    if decay.kind == "steps":
        return case(
            *[(age.copy() <= dbl(st.until), dbl(st.factor)) for st in decay.steps],
            default=dbl(0.0),
        )
    seconds = decay.seconds
    assert seconds is not None  # half_life, linear and expires always have their length
    if decay.kind == "half_life":
        return ctx.d.half(exp.Div(this=age, expression=dbl(seconds)))
    if decay.kind == "linear":
        rest = exp.Sub(this=dbl(1.0), expression=exp.Div(this=age, expression=dbl(seconds)))
        return case((rest > dbl(0.0), rest.copy()), default=dbl(0.0))
    return case((age <= dbl(seconds), dbl(1.0)), default=dbl(0.0))  # expires


def _weighted(ctx: CompileContext, rule: EventRule, gname: str) -> exp.Expr:
    factor = _factor(ctx, ctx.model.effective_decay(gname, rule))
    return dbl(rule.points) if factor is None else exp.Mul(this=dbl(rule.points), expression=factor)


def _reset(ctx: CompileContext, gname: str) -> bool:
    return ctx.model.groups[gname].reset_on_stage


def aggregates(ctx: CompileContext, i: int, gname: str, rule: EventLike) -> list[exp.Expr]:
    within = getattr(rule, "within", None)
    m = matcher(ctx, rule.on, within, _reset(ctx, gname))

    def filt(agg: exp.Expr) -> exp.Expr:
        return exp.Filter(this=agg, expression=exp.Where(this=m.copy()))

    if isinstance(rule, EventRule):
        return [
            exp.alias_(filt(exp.Count(this=exp.Star())), f"__n{i}", quoted=True),
            exp.alias_(filt(exp.Sum(this=_weighted(ctx, rule, gname))), f"__s{i}", quoted=True),
        ]
    if isinstance(rule, FrequencyRule):
        return [exp.alias_(filt(exp.Count(this=exp.Star())), f"__n{i}", quoted=True)]
    return [exp.alias_(filt(exp.Max(this=col("__ts_us"))), f"__last{i}", quoted=True)]


def limited_cte(ctx: CompileContext, i: int, gname: str, rule: EventRule) -> exp.Select:
    """``__l<i>``: the rule's count and points over the events its limit keeps, the latest
    ``count`` per day, per value of a field, or ever."""
    limit = rule.limit
    assert limit is not None  # only rules with a repetition limit come here
    per = limit.per
    partition: list[exp.Expr]
    if per == "ever":
        partition = [col("contact_id")]
    elif per == "day":
        partition = [col("contact_id"), ctx.d.floor_div(col("__ts_us"), DAY_US)]
    else:
        v = col(per)
        partition = [col("contact_id"), case((Values(ctx.d).missing(v), null_text()), default=v)]
    keep_asof = ctx.as_of_column is not None or uses_reset(ctx.model)
    matched = matcher(ctx, rule.on, rule.within, _reset(ctx, gname))
    inner: exp.Select
    if limit.count == 1:
        # The latest event of each partition: a grouping, no window (ties in time give
        # the same points whichever is kept).
        cols = [col("contact_id"), exp.alias_(exp.Max(this=col("__ts_us")), "__ts_us", quoted=True)]
        if keep_asof:
            cols.append(exp.alias_(exp.Max(this=col("__asof_us")), "__asof_us", quoted=True))
        inner = exp.select(*cols).from_("__m").where(matched).group_by(*partition)
        kept: exp.Expr | None = None
    else:
        rn = exp.Window(
            this=exp.RowNumber(),
            partition_by=partition,
            order=exp.Order(expressions=[exp.Ordered(this=col("__ts_us"), desc=True)]),
        )
        cols = [col("contact_id"), col("__ts_us"), exp.alias_(rn, "__rn", quoted=True)]
        if keep_asof:
            cols.append(col("__asof_us"))
        inner = exp.select(*cols).from_("__m").where(matched)
        kept = col("__rn") <= n(limit.count)
    outer = exp.select(
        col("contact_id"),
        exp.alias_(exp.Count(this=exp.Star()), f"__n{i}", quoted=True),
        exp.alias_(exp.Sum(this=_weighted(ctx, rule, gname)), f"__s{i}", quoted=True),
    ).from_(exp.alias_(exp.Subquery(this=inner), "__w", quoted=True))
    if kept is not None:
        outer = outer.where(kept)
    return outer.group_by(col("contact_id"))


def event_points(
    ctx: CompileContext, i: int, rule: EventLike, src: str
) -> tuple[exp.Expr, exp.Expr]:
    """An event rule's (points, fired), read from its aggregates in table ``src``."""
    zero_n = n(0)
    count: exp.Expr
    total: exp.Expr
    last: exp.Expr
    if not ctx.src.has_events:
        count, total, last = zero_n, dbl(0.0), exp.cast(exp.null(), "bigint")
    else:
        count = exp.func("COALESCE", col(f"__n{i}", src), zero_n)
        total = exp.func("COALESCE", col(f"__s{i}", src), dbl(0.0))
        last = col(f"__last{i}", src)
    if isinstance(rule, EventRule):
        capped = total
        if rule.max_points is not None:
            cap = rule.max_points
            capped = case(
                (
                    exp.Abs(this=total.copy()) > dbl(cap),
                    case((total.copy() > dbl(0.0), dbl(cap)), default=dbl(-cap)),
                ),
                default=total.copy(),
            )
        return case((count.copy().eq(0), dbl(0.0)), default=capped), count.copy() > 0
    fired: exp.Expr
    if isinstance(rule, FrequencyRule):
        fired = count >= n(rule.at_least)
        return case((fired, dbl(rule.points)), default=dbl(0.0)), fired.copy()
    limit = exp.Sub(this=col("__asof_us", "c"), expression=n(rule.inactive_for * US))
    fired = case(
        (exp.Is(this=last, expression=exp.null()), exp.true() if rule.or_never else exp.false()),
        default=last.copy() < limit,
    )
    return case((fired, dbl(rule.points)), default=dbl(0.0)), fired.copy()

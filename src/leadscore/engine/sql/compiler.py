"""Compile a typed scoring model into one SQL query (a SQLGlot syntax tree).

The query reads two tables, contacts ``(id, <properties as text>)`` and events
``(contact_id, event_id, type, ts, <attributes as text>)``, and returns one row
per contact: contact_id, model, one column per group, total, grade, stage,
excluded, exclusion_reason, rules_fired — the columns of ScoreResult.row().

Shape of the query (each step a CTE):

1. ``__c``  contacts with the as-of time and the lifecycle bound in microseconds;
2. ``__m``  events of known contacts up to the as-of time, one per event id, with one
   boolean column per distinct event filter;
4. ``__a``  one pass over the events: counts, decayed sums and last times per rule;
   ``__l<i>`` one small window query per rule with a repetition limit;
5. ``__r``  each rule's points and whether it fired; ``__g`` groups; ``__t`` total,
   exclusions and grade; the final SELECT adds the stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlglot import exp

from ...errors import ModelError, Problem
from ...model.schema import (
    CompletenessRule,
    Decay,
    EventRule,
    FrequencyRule,
    InactivityRule,
    PropertyRule,
    ScoringModel,
)
from .. import values as V
from .conditions import Compiler, Unsupported, Values, null_text
from .dialects import DAY_US, TIME_BODY, US, Dialect, case, coalesce_false, dbl, n, s

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


@dataclass
class _Ctx:
    model: ScoringModel
    d: Dialect
    src: Source
    as_of_us: int
    as_of_column: str | None
    conds: dict[str, tuple[str, object]] = field(default_factory=dict)  # json → (column, cond)
    problems: list[Problem] = field(default_factory=list)


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _table(name: str) -> exp.Table:
    parts = name.split(".")
    if len(parts) == 1:
        return exp.Table(this=ident(parts[0]))
    return exp.Table(this=ident(parts[-1]), db=ident(parts[-2]))


def as_of_micros(when: datetime) -> int:
    when = V.timestamp(when)
    return (when - datetime(1970, 1, 1, tzinfo=when.tzinfo)) // _US_DELTA


_US_DELTA = __import__("datetime").timedelta(microseconds=1)


def parse_time_us(d: Dialect, x: exp.Expression) -> exp.Expression:
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


def compile_model(
    model: ScoringModel,
    d: Dialect,
    src: Source,
    *,
    as_of_us: int,
    as_of_column: str | None = None,
    group_columns: Sequence[str] | None = None,
) -> exp.Select:
    """The query for one model. ``group_columns`` (default: the model's groups) lets
    several models share one output shape; groups a model lacks are NULL."""
    ctx = _Ctx(model, d, src, as_of_us, as_of_column)
    try:
        return _build(ctx, list(group_columns or model.groups))
    except Unsupported as exc:
        raise ModelError([Problem(("groups",), str(exc), _hint(d))]) from None


def _hint(d: Dialect) -> str:
    return f"change the model or score with another engine than {d.label} (e.g. --engine inprocess)"


def _locate(ctx: _Ctx, where: tuple, fn):
    try:
        return fn()
    except Unsupported as exc:
        raise ModelError([Problem(where, str(exc), _hint(ctx.d))]) from None


# ----------------------------------------------------------------------------- record access


def _text(src: Source, e: exp.Expression) -> exp.Expression:
    return exp.cast(e, "varchar") if src.cast_text else e


def _contact_resolver(ctx: _Ctx, table: str | None = None):
    columns = set(ctx.src.contact_columns)

    def resolve(name: str):
        return (col(_prop(name), table) if name in columns else null_text()), "text"

    return resolve


def _prop(name: str) -> str:
    return "contact_id" if name == "id" else name


def _event_resolver(ctx: _Ctx, table: str | None = None):
    columns = set(ctx.src.event_columns)

    def resolve(name: str):
        if name in EVENT_CORE_FIELDS or name not in columns:
            return null_text(), "text"
        return _text(ctx.src, col(name, table)), "text"

    return resolve


def _contact_fields(ctx: _Ctx) -> list[str]:
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
    return sorted(f for f in wanted if f in cols and f != "id")


# ----------------------------------------------------------------------------- query


def _uses_reset(model: ScoringModel) -> bool:
    return any(
        g.reset_on_stage
        and any(isinstance(r, EventRule | FrequencyRule | InactivityRule) for r in g.rules)
        for g in model.groups.values()
    )


def _build(ctx: _Ctx, group_columns: list[str]) -> exp.Select:
    d, src, model = ctx.d, ctx.src, ctx.model
    per_contact = ctx.as_of_column is not None
    reset = _uses_reset(model)
    cfields = _contact_fields(ctx)

    # 1. contacts
    asof = exp.Literal.number(ctx.as_of_us)
    if per_contact:
        own = parse_time_us(d, _text(src, col(ctx.as_of_column)))
        asof = exp.func("COALESCE", own, asof)
    c_cols = [exp.alias_(_text(src, col("id")), "contact_id", quoted=True)]
    c_cols += [exp.alias_(_text(src, col(f)), f, quoted=True) for f in cfields if f != "contact_id"]
    c_cols.append(exp.alias_(asof, "__asof_us", quoted=True))
    entered = model.lifecycle.entered_at_property
    if reset:
        bound = (
            parse_time_us(d, _text(src, col(entered)))
            if entered in src.contact_columns
            else exp.cast(exp.null(), "bigint")
        )
        c_cols.append(exp.alias_(bound, "__entered_us", quoted=True))
    contacts = exp.select(*c_cols).from_(_table(src.contacts_table))
    ctes: list[tuple[str, exp.Expression]] = [("__c", contacts)]

    event_rules = [
        (g, r)
        for g, r in model.rules()
        if isinstance(r, EventRule | FrequencyRule | InactivityRule)
    ]
    ev_exclusions = [x for x in model.exclusions if x.on is not None]
    has_event_work = src.has_events and (event_rules or ev_exclusions)

    limited: list[tuple[int, str, EventRule]] = []
    agg_cols: list[exp.Expression] = []
    if has_event_work:
        _register_conditions(ctx, event_rules, ev_exclusions)
        ctes.append(("__m", _events_cte(ctx, event_rules, per_contact or reset, reset)))
        for i, (gname, rule) in enumerate(event_rules):
            if isinstance(rule, EventRule) and rule.limit is not None:
                limited.append((i, gname, rule))
            else:
                agg_cols += _aggregates(ctx, i, gname, rule)
        for j, x in enumerate(ev_exclusions):
            m = _matcher(ctx, x.on, x.within, False)
            agg_cols.append(
                exp.alias_(
                    exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=m)),
                    f"__x{j}",
                    quoted=True,
                )
            )
        if agg_cols:
            agg = exp.select(col("contact_id"), *agg_cols).from_("__m").group_by(col("contact_id"))
            ctes.append(("__a", agg))
        for i, gname, rule in limited:
            ctes.append((f"__l{i}", _limited_cte(ctx, i, gname, rule)))

    # 5. rules → groups → total → stage
    r_from = exp.select(*_rule_columns(ctx, event_rules, ev_exclusions, reset)).from_(
        exp.alias_(exp.Table(this=ident("__c")), "c", quoted=True)
    )
    if agg_cols:
        r_from = r_from.join(
            exp.alias_(exp.Table(this=ident("__a")), "a", quoted=True),
            on=col("contact_id", "c").eq(col("contact_id", "a")),
            join_type="left",
            copy=False,
        )
    for i, _, _ in limited:
        r_from = r_from.join(
            exp.alias_(exp.Table(this=ident(f"__l{i}")), f"l{i}", quoted=True),
            on=col("contact_id", "c").eq(col("contact_id", f"l{i}")),
            join_type="left",
            copy=False,
        )
    ctes.append(("__r", r_from))
    ctes.append(("__g", _groups_cte(ctx)))
    ctes.append(("__t", _total_cte(ctx)))
    final = _final(ctx, group_columns)
    for name, query in ctes:
        final = final.with_(name, as_=query, copy=False)
    return final


def _events_cte(ctx: _Ctx, event_rules, join: bool, reset: bool) -> exp.Select:
    """Events of known contacts up to their as-of time, one per event id, each with a
    boolean per event filter (computed before de-duplication so that only booleans,
    not attribute texts, go through the window)."""
    d, src = ctx.d, ctx.src
    cols = set(src.event_columns)
    ts_us = d.epoch_us(col("ts", "ev"))
    key = _text(src, col("event_id", "ev"))
    if "id" in cols:  # inprocess: an event without event_id falls back to its 'id' attribute
        key = exp.func("COALESCE", key, _text(src, col("id", "ev")))
    key = case((Values(d).missing(key), null_text()), default=key)
    resolve = _event_resolver(ctx, "ev")
    compile_cond = Compiler(d, resolve)
    limit_fields = _limit_fields(event_rules)
    preds = [(name, compile_cond(c)) for name, c in ctx.conds.values()]
    inner_cols = [
        exp.alias_(_text(src, col("contact_id", "ev")), "contact_id", quoted=True),
        exp.alias_(ts_us, "__ts_us", quoted=True),
        exp.alias_(_text(src, col("type", "ev")), "type", quoted=True),
        exp.alias_(key, "__key", quoted=True),
        *[exp.alias_(resolve(f)[0], f, quoted=True) for f in limit_fields],
        *[exp.alias_(p, name, quoted=True) for name, p in preds],
    ]
    inner = exp.select(*inner_cols).from_(exp.alias_(_table(src.events_table), "ev", quoted=True))
    if join:
        inner = inner.select(col("__asof_us", "c"))
        if reset:
            inner = inner.select(col("__entered_us", "c"))
        inner = inner.join(
            exp.alias_(exp.Table(this=ident("__c")), "c", quoted=True),
            on=_text(src, col("contact_id", "ev")).eq(col("contact_id", "c")),
        )
        inner = inner.where(ts_us.copy() <= col("__asof_us", "c"))
    else:
        inner = inner.where(ts_us.copy() <= exp.Literal.number(ctx.as_of_us))
    keep = ["contact_id", "__ts_us", *limit_fields, *[name for name, _ in preds]]
    if join:
        keep.append("__asof_us")
        if reset:
            keep.append("__entered_us")
    # One event per (contact, key): the earliest, then the smallest type (inprocess.dedupe).
    window = exp.Window(
        this=exp.RowNumber(),
        partition_by=[col("contact_id"), col("__key")],
        order=exp.Order(
            expressions=[exp.Ordered(this=col("__ts_us")), exp.Ordered(this=col("type"))]
        ),
    )
    ranked = exp.select(
        *[col(k) for k in keep], col("__key"), exp.alias_(window, "__rn", quoted=True)
    ).from_(exp.alias_(exp.Subquery(this=inner), "__i", quoted=True))
    return (
        exp.select(*[col(k) for k in keep])
        .from_(exp.alias_(exp.Subquery(this=ranked), "__d", quoted=True))
        .where(exp.or_(exp.Is(this=col("__key"), expression=exp.null()), col("__rn").eq(1)))
    )


def _cond_column(ctx: _Ctx, cond) -> str:
    key = cond.model_dump_json() if cond is not None else "null"
    if key not in ctx.conds:
        ctx.conds[key] = (f"__k{len(ctx.conds)}", cond)
    return ctx.conds[key][0]


def _asof(ctx: _Ctx, per_row: bool = True) -> exp.Expression:
    if ctx.as_of_column is not None or (_uses_reset(ctx.model) and per_row):
        return col("__asof_us")
    return exp.Literal.number(ctx.as_of_us)


def _matcher(ctx: _Ctx, cond, within: int | None, reset: bool) -> exp.Expression:
    parts: list[exp.Expression] = [col(_cond_column(ctx, cond))] if cond is not None else []
    ts = col("__ts_us")
    if within is not None:
        parts.append(ts >= exp.Sub(this=_asof(ctx), expression=n(within * US)))
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


def _register_conditions(ctx: _Ctx, event_rules, ev_exclusions) -> None:
    """Give each distinct event filter a boolean column (refusing what the engine can't run)."""
    for gname, rule in event_rules:
        if rule.on is not None:
            _locate(
                ctx,
                ("groups", gname, "rules", rule.name, "on"),
                lambda r=rule: Compiler(ctx.d, _event_resolver(ctx))(r.on),
            )
            _cond_column(ctx, rule.on)
    for i, x in enumerate(ev_exclusions):
        _locate(
            ctx, ("exclusions", i, "on"), lambda x=x: Compiler(ctx.d, _event_resolver(ctx))(x.on)
        )
        _cond_column(ctx, x.on)


def _limit_fields(event_rules) -> list[str]:
    return sorted(
        {
            r.limit.per
            for _, r in event_rules
            if isinstance(r, EventRule) and r.limit and r.limit.per not in ("ever", "day")
        }
    )


def _age_seconds(ctx: _Ctx) -> exp.Expression:
    diff = exp.Sub(this=_asof(ctx), expression=col("__ts_us"))
    return exp.Div(this=exp.cast(diff, "double"), expression=dbl(float(US)))


def _factor(ctx: _Ctx, decay: Decay) -> exp.Expression | None:
    if decay.kind == "none":
        return None
    age = _age_seconds(ctx)
    if decay.kind == "half_life":
        return ctx.d.half(exp.Div(this=age, expression=dbl(decay.seconds)))
    if decay.kind == "linear":
        rest = exp.Sub(this=dbl(1.0), expression=exp.Div(this=age, expression=dbl(decay.seconds)))
        return case((rest > dbl(0.0), rest.copy()), default=dbl(0.0))
    if decay.kind == "expires":
        return case((age <= dbl(decay.seconds), dbl(1.0)), default=dbl(0.0))
    return case(
        *[(age.copy() <= dbl(st.until), dbl(st.factor)) for st in decay.steps], default=dbl(0.0)
    )


def _weighted(ctx: _Ctx, rule: EventRule, gname: str) -> exp.Expression:
    factor = _factor(ctx, ctx.model.effective_decay(gname, rule))
    return dbl(rule.points) if factor is None else exp.Mul(this=dbl(rule.points), expression=factor)


def _reset(ctx: _Ctx, gname: str) -> bool:
    return ctx.model.groups[gname].reset_on_stage


def _aggregates(ctx: _Ctx, i: int, gname: str, rule) -> list[exp.Expression]:
    within = getattr(rule, "within", None)
    m = _matcher(ctx, rule.on, within, _reset(ctx, gname))

    def filt(agg: exp.Expression) -> exp.Expression:
        return exp.Filter(this=agg, expression=exp.Where(this=m.copy()))

    if isinstance(rule, EventRule):
        return [
            exp.alias_(filt(exp.Count(this=exp.Star())), f"__n{i}", quoted=True),
            exp.alias_(filt(exp.Sum(this=_weighted(ctx, rule, gname))), f"__s{i}", quoted=True),
        ]
    if isinstance(rule, FrequencyRule):
        return [exp.alias_(filt(exp.Count(this=exp.Star())), f"__n{i}", quoted=True)]
    return [exp.alias_(filt(exp.Max(this=col("__ts_us"))), f"__last{i}", quoted=True)]


def _limited_cte(ctx: _Ctx, i: int, gname: str, rule: EventRule) -> exp.Select:
    per = rule.limit.per
    if per == "ever":
        partition = [col("contact_id")]
    elif per == "day":
        partition = [col("contact_id"), ctx.d.floor_div(col("__ts_us"), DAY_US)]
    else:
        v = col(per)
        partition = [col("contact_id"), case((Values(ctx.d).missing(v), null_text()), default=v)]
    rn = exp.Window(
        this=exp.RowNumber(),
        partition_by=partition,
        order=exp.Order(expressions=[exp.Ordered(this=col("__ts_us"), desc=True)]),
    )
    cols = [col("contact_id"), col("__ts_us"), exp.alias_(rn, "__rn", quoted=True)]
    if ctx.as_of_column is not None or _uses_reset(ctx.model):
        cols.append(col("__asof_us"))
    inner = (
        exp.select(*cols)
        .from_("__m")
        .where(_matcher(ctx, rule.on, rule.within, _reset(ctx, gname)))
    )
    return (
        exp.select(
            col("contact_id"),
            exp.alias_(exp.Count(this=exp.Star()), f"__n{i}", quoted=True),
            exp.alias_(exp.Sum(this=_weighted(ctx, rule, gname)), f"__s{i}", quoted=True),
        )
        .from_(exp.alias_(exp.Subquery(this=inner), "__w", quoted=True))
        .where(col("__rn") <= n(rule.limit.count))
        .group_by(col("contact_id"))
    )


def _rule_columns(ctx: _Ctx, event_rules, ev_exclusions, reset) -> list[exp.Expression]:
    d, model = ctx.d, ctx.model
    contact_cond = Compiler(d, _contact_resolver(ctx, "c"))
    values = Values(d)
    out: list[exp.Expression] = [col("contact_id", "c")]
    event_index = {id(r): i for i, (_, r) in enumerate(event_rules)}
    limited = {id(r) for _, r in event_rules if isinstance(r, EventRule) and r.limit is not None}
    k = 0
    for gname, group in model.groups.items():
        for ri, rule in enumerate(group.rules):
            where = ("groups", gname, "rules", ri)
            if isinstance(rule, PropertyRule):
                if rule.cases:
                    conds = [
                        _locate(
                            ctx, (*where, "cases", ci, "when"), lambda c=c: contact_cond(c.when)
                        )
                        for ci, c in enumerate(rule.cases)
                    ]
                    pts = case(
                        *[(cd, dbl(c.points)) for cd, c in zip(conds, rule.cases, strict=True)],
                        default=dbl(rule.otherwise),
                    )
                    fired = (
                        exp.or_(*[cd.copy() for cd in conds]) if not rule.otherwise else exp.true()
                    )
                else:
                    cond = _locate(ctx, (*where, "when"), lambda r=rule: contact_cond(r.when))
                    pts = case((cond, dbl(rule.points)), default=dbl(0.0))
                    fired = cond.copy()
            elif isinstance(rule, CompletenessRule):
                filled = [
                    case(
                        (exp.paren(values.present(_contact_resolver(ctx, "c")(p)[0])), n(1)),
                        default=n(0),
                    )
                    for p in rule.properties
                ]
                count = filled[0]
                for f in filled[1:]:
                    count = exp.Add(this=count, expression=f)
                pts = exp.Mul(this=dbl(rule.points), expression=exp.paren(count))
                fired = exp.paren(count.copy()) > 0
            else:
                i = event_index[id(rule)]
                src = f"l{i}" if id(rule) in limited else "a"
                pts, fired = _event_points(ctx, i, rule, src)
            out.append(exp.alias_(pts, f"__p{k}", quoted=True))
            out.append(exp.alias_(case((fired, n(1)), default=n(0)), f"__f{k}", quoted=True))
            k += 1
    for j, x in enumerate(model.exclusions):
        if x.when is not None:
            hit = _locate(ctx, ("exclusions", j, "when"), lambda x=x: contact_cond(x.when))
        else:
            j_on = [y for y in model.exclusions if y.on is not None].index(x)
            hit = coalesce_false(col(f"__x{j_on}", "a") > 0) if ctx.src.has_events else exp.false()
        out.append(exp.alias_(hit, f"__ex{j}", quoted=True))
    for f in ("__asof_us",):
        out.append(col(f, "c"))
    return out


def _event_points(ctx: _Ctx, i: int, rule, src: str):
    zero_n = n(0)
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
    if isinstance(rule, FrequencyRule):
        fired = count >= n(rule.at_least)
        return case((fired, dbl(rule.points)), default=dbl(0.0)), fired.copy()
    limit = exp.Sub(this=col("__asof_us", "c"), expression=n(rule.inactive_for * US))
    fired = case(
        (exp.Is(this=last, expression=exp.null()), exp.true() if rule.or_never else exp.false()),
        default=last.copy() < limit,
    )
    return case((fired, dbl(rule.points)), default=dbl(0.0)), fired.copy()


def _sum(terms: list[exp.Expression]) -> exp.Expression:
    if not terms:
        return dbl(0.0)
    out = terms[0]
    for t in terms[1:]:
        out = exp.Add(this=out, expression=t)
    return out


def _groups_cte(ctx: _Ctx) -> exp.Select:
    model = ctx.model
    out: list[exp.Expression] = [col("contact_id"), col("__asof_us")]
    k = 0
    fired: list[exp.Expression] = []
    for gname, group in model.groups.items():
        terms, weights = [], []
        for rule in group.rules:
            p = col(f"__p{k}")
            fired.append(col(f"__f{k}"))
            if group.combine == "weighted_mean":
                terms.append(exp.Mul(this=p, expression=dbl(rule.weight)))
                weights.append(rule.weight)
            else:
                terms.append(p)
            k += 1
        value = _sum(terms)
        if group.combine == "weighted_mean" and weights:
            value = exp.Div(this=exp.paren(value), expression=dbl(sum(weights)))
        if group.max is not None:
            value = case((exp.paren(value) > dbl(group.max), dbl(group.max)), default=value.copy())
        if group.min is not None:
            value = case((exp.paren(value) < dbl(group.min), dbl(group.min)), default=value.copy())
        out.append(exp.alias_(value, f"g_{gname}", quoted=True))
    fired_sum = _int_sum(fired)
    out.append(exp.alias_(fired_sum, "__fired", quoted=True))
    out += [col(f"__ex{j}") for j in range(len(model.exclusions))]
    return exp.select(*out).from_("__r")


def _int_sum(terms: list[exp.Expression]) -> exp.Expression:
    if not terms:
        return n(0)
    out = terms[0]
    for t in terms[1:]:
        out = exp.Add(this=out, expression=t)
    return out


def _total_cte(ctx: _Ctx) -> exp.Select:
    model = ctx.model
    if model.total.weights is not None:
        raw = _sum(
            [exp.Mul(this=col(f"g_{g}"), expression=dbl(w)) for g, w in model.total.weights.items()]
        )
    else:
        raw = _sum([col(f"g_{g}") for g in model.groups])
    lo, hi = dbl(model.scale.min), dbl(model.scale.max)
    clamped = case((exp.paren(raw) < lo, lo), default=raw.copy())
    clamped = case((exp.paren(clamped) > hi, hi.copy()), default=clamped.copy())
    exs = [col(f"__ex{j}") for j in range(len(model.exclusions))]
    excluded = exp.or_(*exs) if exs else exp.false()
    total = case((exp.paren(excluded), lo.copy()), default=clamped)
    cols = [
        col("contact_id"),
        *[col(f"g_{g}") for g in model.groups],
        exp.alias_(total, "total", quoted=True),
        exp.alias_(exp.paren(excluded.copy()), "excluded", quoted=True),
        col("__fired"),
    ]
    if exs:
        reason = exp.DPipe(this=s(""), expression=s(""))
        parts = [
            case((e.copy(), s("; " + x.name)), default=s(""))
            for e, x in zip(exs, model.exclusions, strict=True)
        ]
        reason = parts[0]
        for p in parts[1:]:
            reason = exp.DPipe(this=reason, expression=p)
        reason = exp.Nullif(this=exp.Substring(this=reason, start=n(3)), expression=s(""))
    else:
        reason = null_text()
    cols.append(exp.alias_(reason, "exclusion_reason", quoted=True))
    if model.grades is not None:
        g = col(f"g_{model.grades.group}")
        grade = case(
            *[(g.copy() >= dbl(m), s(letter)) for letter, m in model.grades.letters],
            default=s(model.grades.otherwise),
        )
    else:
        grade = null_text()
    cols.append(exp.alias_(grade, "grade", quoted=True))
    return exp.select(*cols).from_("__g")


def _final(ctx: _Ctx, group_columns: list[str]) -> exp.Select:
    model = ctx.model
    scores = {g: col(f"g_{g}") for g in model.groups}

    def resolve(name: str):
        if name == "grade":
            return col("grade"), "text"
        if name == "total":
            return col("total"), "number"
        return scores[name].copy(), "number"

    compile_score = Compiler(ctx.d, resolve)
    whens = []
    for i, th in enumerate(model.thresholds):
        cond = _locate(ctx, ("thresholds", i, "when"), lambda th=th: compile_score(th.when))
        whens.append((exp.paren(cond), s(th.stage)))
    default = s(model.default_stage) if model.default_stage is not None else null_text()
    stage = case(*whens, default=default) if whens else default
    stage = case((col("excluded"), null_text()), default=stage)
    out = [col("contact_id"), exp.alias_(s(model.name), "model", quoted=True)]
    for g in group_columns:
        out.append(
            exp.alias_(
                col(f"g_{g}") if g in model.groups else exp.cast(exp.null(), "double"),
                g,
                quoted=True,
            )
        )
    out += [
        col("total"),
        exp.alias_(exp.cast(col("grade"), "varchar"), "grade", quoted=True),
        exp.alias_(exp.cast(stage, "varchar"), "stage", quoted=True),
        col("excluded"),
        col("exclusion_reason"),
        exp.alias_(exp.cast(col("__fired"), "bigint"), "rules_fired", quoted=True),
    ]
    return exp.select(*out).from_("__t")

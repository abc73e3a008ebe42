"""Compile a typed scoring model into one SQL query (a SQLGlot syntax tree).

The query reads two tables, contacts ``(id, <properties as text>)`` and events
``(contact_id, event_id, type, ts, <attributes as text>)``, and returns one row
per contact: contact_id, model, one column per group, total, grade, stage,
excluded, exclusion_reason, rules_fired, then matrix and quadrant when a model
declares a matrix — the columns of ScoreResult.row().

Shape of the query (each step a CTE):

1. ``__c``  contacts with the as-of time and the lifecycle bound in microseconds;
2. ``__m``  events of known contacts up to the as-of time, one per event id, with one
   boolean column per distinct event filter;
4. ``__a``  one pass over the events: counts, decayed sums and last times per rule;
   ``__l<i>`` one small window query per rule with a repetition limit;
5. ``__r``  each rule's points and whether it fired; ``__g`` groups; ``__t`` total,
   exclusions, grade and matrix cell; the final SELECT adds the quadrant and the stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from sqlglot import exp

from ...errors import ModelError, Problem
from ...model.accounts import AccountExclusion
from ...model.schema import (
    Axes,
    CompletenessRule,
    EventRule,
    Exclusion,
    FrequencyRule,
    InactivityRule,
    PropertyRule,
    ScoringModel,
    Threshold,
)
from .account_join import join_accounts
from .base import (
    CompileContext,
    Source,
    as_of_micros,
    as_text,
    col,
    contact_fields,
    contact_resolver,
    engine_hint,
    ident,
    located,
    parse_time_us,
    table_ref,
    uses_reset,
)
from .conditions import Compiler, Resolver, Unsupported, Values, null_text
from .dialects import Dialect, case, coalesce_false, dbl, n, s
from .events import (
    EventRules,
    Step,
    aggregates,
    event_points,
    event_steps,
    limited_cte,
    matcher,
    register_conditions,
)

__all__ = ["Source", "as_of_micros", "compile_model"]


def compile_model(
    model: ScoringModel,
    d: Dialect,
    src: Source,
    *,
    as_of_us: int,
    as_of_column: str | None = None,
    group_columns: Sequence[str] | None = None,
    matrix_columns: bool | None = None,
) -> exp.Select:
    """The query for one model. ``group_columns`` (default: the model's groups) and
    ``matrix_columns`` (default: whether the model has a matrix) let several models share
    one output shape; groups a model lacks are NULL, and so are its matrix columns."""
    if model.reads_predicted():
        raise ModelError(
            [
                Problem(
                    ("predicted",),
                    f"model {model.name!r} reads the predicted score, which comes from a "
                    "trained model, not from SQL",
                    "score it in the service, or drop the grade, thresholds and weight on "
                    "'predicted' for batch scoring",
                )
            ]
        )
    ctx = CompileContext(model, d, src, as_of_us, as_of_column, matrix_columns=matrix_columns)
    try:
        return build(ctx, list(group_columns or model.groups))
    except Unsupported as exc:
        raise ModelError([Problem(("groups",), str(exc), engine_hint(d))]) from None


Cte = tuple[str, exp.Expr] | Step
"""A CTE: ``(name, query)``, or with whether it is materialized (:data:`.events.Step`)."""

_JOINED_CONTACTS = "__ct"  # the contacts table's alias when accounts are joined


def _contacts_cte(ctx: CompileContext, cfields: list[str], reset: bool) -> exp.Select:
    """``__c``: each contact's id, the properties the rules read, its as-of time, its
    lifecycle bound and, when accounts are joined, its account's fields."""
    d, src, model = ctx.d, ctx.src, ctx.model
    t = _JOINED_CONTACTS if ctx.accounts is not None else None
    asof: exp.Expr = exp.Literal.number(ctx.as_of_us)
    if ctx.as_of_column is not None:
        own = parse_time_us(d, as_text(src, col(ctx.as_of_column, t)))
        asof = exp.func("COALESCE", own, asof)
    c_cols = [exp.alias_(as_text(src, col("id", t)), "contact_id", quoted=True)]
    c_cols += [
        exp.alias_(as_text(src, col(f, t)), f, quoted=True) for f in cfields if f != "contact_id"
    ]
    c_cols.append(exp.alias_(asof, "__asof_us", quoted=True))
    if reads_phase(ctx):
        c_cols.append(exp.alias_(_phase(ctx, t), PHASE, quoted=True))
    entered = model.lifecycle.entered_at_property
    if reset:
        bound = (
            parse_time_us(d, as_text(src, col(entered, t)))
            if entered in src.contact_columns
            else exp.cast(exp.null(), "bigint")
        )
        c_cols.append(exp.alias_(bound, "__entered_us", quoted=True))
    if ctx.accounts is None:
        return exp.select(*c_cols).from_(table_ref(src.contacts_table))
    return join_accounts(ctx, exp.select(*c_cols), _JOINED_CONTACTS)


PHASE = "__phase"
"""The contacts CTE's column of each contact's phase (its current stage), kept to the
final select when the stage reads it."""


def reads_phase(ctx: CompileContext) -> bool:
    """Whether the stage of this (contact) query depends on the contact's phase."""
    return ctx.scoring is None and ctx.model.reads_phase()


def _phase(ctx: CompileContext, table: str | None) -> exp.Expr:
    """The stage property's text when it names a stage of the model exactly, else NULL
    (as :meth:`ScoringModel.phase_of`)."""
    prop = ctx.model.lifecycle.stage_property
    if prop not in ctx.src.contact_columns:
        return null_text()
    value = as_text(ctx.src, col(prop, table))
    known = [s(x) for x in sorted(ctx.model.known_stages)]
    return case((exp.In(this=value, expressions=known), value.copy()), default=null_text())


def build(
    ctx: CompileContext, group_columns: list[str], *, until_rules: bool = False
) -> exp.Select:
    """The whole query; ``until_rules`` stops at the rules CTE (``SELECT * FROM __r``)."""
    src, model = ctx.src, ctx.model
    per_contact = ctx.as_of_column is not None
    reset = uses_reset(model)
    cfields = contact_fields(ctx)

    # 1. contacts
    ctes: list[Cte] = [("__c", _contacts_cte(ctx, cfields, reset))]

    event_rules = [
        (g, r)
        for g, r in model.rules()
        if isinstance(r, EventRule | FrequencyRule | InactivityRule)
    ]
    ev_exclusions = [x for x in model.exclusions if x.on is not None]
    has_event_work = src.has_events and (event_rules or ev_exclusions)

    limited: list[tuple[int, str, EventRule]] = []
    agg_cols: list[exp.Expr] = []
    if has_event_work:
        register_conditions(ctx, event_rules, ev_exclusions)
        ctes += event_steps(ctx, event_rules, per_contact or reset, reset)
        for i, (gname, rule) in enumerate(event_rules):
            if isinstance(rule, EventRule) and rule.limit is not None:
                limited.append((i, gname, rule))
            else:
                agg_cols += aggregates(ctx, i, gname, rule)
        for j, x in enumerate(ev_exclusions):
            m = matcher(ctx, x.on, x.within, False)
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
            ctes.append((f"__l{i}", limited_cte(ctx, i, gname, rule)))

    # 5. rules → groups → total → stage
    r_from = exp.select(*rule_columns(ctx, event_rules, ev_exclusions, reset)).from_(
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
    if until_rules:
        return with_ctes(exp.select("*").from_("__r"), ctes)
    return scores_query(ctx, group_columns, ctes)


def with_ctes(final: exp.Select, ctes: Sequence[Cte]) -> exp.Select:
    """``final`` with the CTEs, each ``(name, query)`` or ``(name, query, materialized)``."""
    for name, query, *how in ctes:
        materialized = how[0] if how else None
        final = final.with_(name, as_=query, materialized=materialized, copy=False)
    return final


def scores_query(ctx: CompileContext, group_columns: list[str], ctes: Sequence[Cte]) -> exp.Select:
    """After ``ctes`` (ending with the rules CTE ``__r``), the scores: groups, total and
    grade, then the stage."""
    steps: list[Cte] = [*ctes, ("__g", _groups_cte(ctx)), ("__t", _total_cte(ctx))]
    return with_ctes(_final(ctx, group_columns), steps)


def rule_columns(
    ctx: CompileContext,
    event_rules: EventRules,
    ev_exclusions: Sequence[Exclusion],
    reset: bool,
    keep: frozenset[str] | None = None,
) -> list[exp.Expr]:
    """Each rule's points ``__p<k>`` and fired flag ``__f<k>``, each exclusion's ``__ex<j>``.

    With ``keep`` (rule names), the rules not named are read as computed already, from
    the columns of ``c`` (a stored rules CTE): for the second pass over account scores.
    """
    d, model = ctx.d, ctx.model
    resolve = contact_resolver(ctx, "c")
    contact_cond = Compiler(d, resolve)
    out: list[exp.Expr] = [col("contact_id", "c")]
    event_index = {id(r): i for i, (_, r) in enumerate(event_rules)}
    limited = {id(r) for _, r in event_rules if isinstance(r, EventRule) and r.limit is not None}
    k = 0
    for gname, group in model.groups.items():
        for ri, rule in enumerate(group.rules):
            where = ("groups", gname, "rules", ri)
            if keep is not None and rule.name not in keep:
                out += [col(f"__p{k}", "c"), col(f"__f{k}", "c")]
                k += 1
                continue
            if isinstance(rule, PropertyRule | CompletenessRule):
                pts, fired = static_points(ctx, rule, where, resolve)
            else:
                i = event_index[id(rule)]
                src = f"l{i}" if id(rule) in limited else "a"
                pts, fired = event_points(ctx, i, rule, src)
            out.append(exp.alias_(pts, f"__p{k}", quoted=True))
            out.append(exp.alias_(case((fired, n(1)), default=n(0)), f"__f{k}", quoted=True))
            k += 1
    for j, x in enumerate(model.exclusions):
        hit: exp.Expr
        if keep is not None and x.name not in keep:
            hit = col(f"__ex{j}", "c")
        elif x.when is not None:
            hit = located(ctx, ("exclusions", j, "when"), partial(contact_cond, x.when))
        else:
            j_on = [y for y in model.exclusions if y.on is not None].index(x)
            hit = coalesce_false(col(f"__x{j_on}", "a") > 0) if ctx.src.has_events else exp.false()
        out.append(exp.alias_(hit, f"__ex{j}", quoted=True))
    for f in ("__asof_us", *ctx.carry, *([PHASE] if reads_phase(ctx) else [])):
        out.append(col(f, "c"))
    return out


def static_points(
    ctx: CompileContext,
    rule: PropertyRule | CompletenessRule,
    where: tuple[str | int, ...],
    resolve: Resolver,
) -> tuple[exp.Expr, exp.Expr]:
    """A property or completeness rule over one record: (points, fired)."""
    cond_of = Compiler(ctx.d, resolve)
    if isinstance(rule, CompletenessRule):
        values = Values(ctx.d)
        filled = [
            case((exp.paren(values.present(resolve(p)[0])), n(1)), default=n(0))
            for p in rule.properties
        ]
        count: exp.Expr = filled[0]
        for f in filled[1:]:
            count = exp.Add(this=count, expression=f)
        pts: exp.Expr = exp.Mul(this=dbl(rule.points), expression=exp.paren(count))
        return pts, exp.paren(count.copy()) > 0
    if rule.cases:
        conds = [
            located(ctx, (*where, "cases", ci, "when"), partial(cond_of, c.when))
            for ci, c in enumerate(rule.cases)
        ]
        pts = case(
            *[(cd, dbl(c.points)) for cd, c in zip(conds, rule.cases, strict=True)],
            default=dbl(rule.otherwise),
        )
        fired = exp.or_(*[cd.copy() for cd in conds]) if not rule.otherwise else exp.true()
        return pts, fired
    points = rule.points
    assert points is not None  # a rule without cases has when and points (checked on load)
    cond = located(ctx, (*where, "when"), partial(cond_of, rule.when))
    return case((cond, dbl(points)), default=dbl(0.0)), cond.copy()


def _sum(terms: list[exp.Expr]) -> exp.Expr:
    if not terms:
        return dbl(0.0)
    out = terms[0]
    for t in terms[1:]:
        out = exp.Add(this=out, expression=t)
    return out


def _groups_cte(ctx: CompileContext) -> exp.Select:
    model = ctx.spine
    out: list[exp.Expr] = [col(ctx.key), col("__asof_us"), *map(col, ctx.carry)]
    if reads_phase(ctx):
        out.append(col(PHASE))
    k = 0
    fired: list[exp.Expr] = []
    for gname, group in model.groups.items():
        terms: list[exp.Expr] = []
        weights: list[float] = []
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


def _int_sum(terms: list[exp.Expr]) -> exp.Expr:
    if not terms:
        return n(0)
    out = terms[0]
    for t in terms[1:]:
        out = exp.Add(this=out, expression=t)
    return out


def _total_cte(ctx: CompileContext) -> exp.Select:
    model = ctx.spine
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
        col(ctx.key),
        *map(col, ctx.carry),
        *[col(f"g_{g}") for g in model.groups],
        exp.alias_(total, "total", quoted=True),
        exp.alias_(exp.paren(excluded.copy()), "excluded", quoted=True),
        col("__fired"),
        *([col(PHASE)] if reads_phase(ctx) else []),
    ]
    if exs:
        exclusions: Sequence[Exclusion | AccountExclusion] = model.exclusions
        parts = [
            case((e.copy(), s("; " + x.name)), default=s(""))
            for e, x in zip(exs, exclusions, strict=True)
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
    if ctx.with_matrix or _axes(ctx) is not None:
        cols.append(exp.alias_(_cell(ctx), "matrix", quoted=True))
    return exp.select(*cols).from_("__g")


def _applies(ctx: CompileContext, th: Threshold) -> exp.Expr | None:
    """Whether a threshold applies in the contact's phase (as :func:`.spine.stage_of`):
    its ``from`` names the phase (or, with none, the default stage); when stages are
    kept, a threshold without ``from`` never moves a contact down the funnel."""
    model = ctx.model
    phase = col(PHASE)
    if th.from_ is not None:
        at: exp.Expr = phase
        if model.default_stage is not None:
            at = exp.func("COALESCE", phase, s(model.default_stage))
        return coalesce_false(exp.In(this=at, expressions=[s(x) for x in sorted(th.from_)]))
    if not model.keeps_stage:
        return None
    rank = model.stage_rank
    higher = sorted(x for x, r in rank.items() if r < rank[th.stage])
    if not higher:
        return None
    return exp.not_(coalesce_false(exp.In(this=phase.copy(), expressions=[s(x) for x in higher])))


def _axes(ctx: CompileContext) -> Axes | None:
    """The matrix of a contact query's model (account queries have none)."""
    return ctx.model.matrix_axes if ctx.scoring is None else None


def _cell(ctx: CompileContext) -> exp.Expr:
    """The matrix cell: the fit letter then the engagement band number (``A1``)."""
    axes = _axes(ctx)
    if axes is None:
        return null_text()
    fit, eng = col(f"g_{axes.fit}"), col(f"g_{axes.engagement}")
    letter = case(
        *[(fit.copy() >= dbl(m), s(lt)) for lt, m in axes.letters], default=s(axes.otherwise)
    )
    last = len(axes.bands) + 1
    band = case(
        *[(eng.copy() >= dbl(m), s(str(i))) for i, m in enumerate(axes.bands, start=1)],
        default=s(str(last)),
    )
    return exp.DPipe(this=letter, expression=band)


def _quadrant(ctx: CompileContext) -> exp.Expr:
    """The quadrant named for the row's matrix cell."""
    axes = _axes(ctx)
    if axes is None:
        return null_text()
    by_name: dict[str, list[str]] = {}
    for cell, _, _, quadrant in axes.cells():
        by_name.setdefault(quadrant, []).append(cell)
    whens = [
        (exp.In(this=col("matrix"), expressions=[s(c) for c in cells]), s(name))
        for name, cells in by_name.items()
    ]
    return case(*whens, default=null_text())


def _final(ctx: CompileContext, group_columns: list[str]) -> exp.Select:
    model = ctx.spine
    scores = {g: col(f"g_{g}") for g in model.groups}

    def resolve(name: str) -> tuple[exp.Expr, str]:
        if name == "grade":
            return col("grade"), "text"
        if name == "total":
            return col("total"), "number"
        if name == "matrix":
            return col("matrix"), "text"
        if name == "quadrant":
            return _quadrant(ctx), "text"
        return scores[name].copy(), "number"

    compile_score = Compiler(ctx.d, resolve)
    whens: list[tuple[exp.Expr, exp.Expr]] = []
    for i, th in enumerate(model.thresholds):
        cond = located(ctx, ("thresholds", i, "when"), partial(compile_score, th.when))
        guard = _applies(ctx, th) if reads_phase(ctx) else None
        cond = exp.paren(cond) if guard is None else exp.and_(guard, exp.paren(cond))
        whens.append((cond, s(th.stage)))
    default = s(model.default_stage) if model.default_stage is not None else null_text()
    if reads_phase(ctx) and ctx.model.keeps_stage:
        default = exp.func("COALESCE", col(PHASE), default)
    stage = case(*whens, default=default) if whens else default
    stage = case((col("excluded"), null_text()), default=stage)
    out = [col(ctx.key), exp.alias_(s(ctx.model.name), "model", quoted=True)]
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
    if ctx.with_matrix:
        out += [
            exp.alias_(exp.cast(col("matrix"), "varchar"), "matrix", quoted=True),
            exp.alias_(exp.cast(_quadrant(ctx), "varchar"), "quadrant", quoted=True),
        ]
    out += [*map(col, ctx.carry)]
    return exp.select(*out).from_("__t")

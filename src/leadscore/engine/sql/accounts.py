"""Accounts in SQL: contacts that read their account, and account scores rolled up
from their contacts, with the meaning of :mod:`leadscore.engine.accounts`.

The tables: ``accounts`` (``id``, optional ``domain``, properties as text) and
the linkable domains ``(domain, account_id)`` that :class:`AccountIndex` made
from them (free-mail ones out, one account per domain). A model is scored in
steps, each a temporary table, in the order of the in-process evaluator:

1. ``__ls_a0<i>``: provisional account scores, from the account's properties only
   (only when contact rules read account scores);
2. ``__ls_r<i>``: each contact's rule points (only when contact rules read
   *rolled-up* account scores, which are computed again in step 5);
3. ``__ls_p<i>``: contact scores, with each contact's account id and the properties
   the roll-ups read;
4. ``__ls_acc<i>``: account scores, rolled up from step 3 in one aggregate pass
   (and one window per ``top`` roll-up);
5. the contact scores again, the rules that read account scores recomputed with
   the account scores of step 4.

:func:`build_plan` returns the steps and the two output queries; each engine runs
them (``duckdb.py``, ``postgres.py``, ``spark.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from sqlglot import exp

from ...errors import DataError, ModelError, Problem
from ...model.accounts import (
    RollupRule,
    rule_fields,
)
from ...model.conditions import condition_fields
from ...model.schema import EventRule, FrequencyRule, InactivityRule, ScoringModel
from ..linking import DOMAIN_PROPERTY, AccountIndex, LinkReport
from .account_join import account_fields, account_values, rollup_column, rollup_props
from .base import (
    AccountJoin,
    CompileContext,
    Source,
    as_of_micros,
    as_text,
    col,
    contact_fields,
    engine_hint,
    ident,
    located,
    table_ref,
    uses_reset,
)
from .compiler import build, rule_columns, scores_query, static_points
from .conditions import Compiler, Resolver, Unsupported, null_text
from .dialects import Dialect, case, dbl, get_dialect, n, s
from .query import MATRIX_COLUMNS, OUTPUT_FIXED, has_matrix, output_columns
from .query import group_columns as contact_groups

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

DOMAINS_TABLE = "__ls_domains"
ACCOUNT_FIXED = ("total", "grade", "stage", "excluded", "exclusion_reason", "rules_fired")


@dataclass(frozen=True)
class AccountTables:
    """Where the accounts are: the table (``id`` + properties) and the domains table."""

    accounts: str = "accounts"
    columns: tuple[str, ...] = ("id",)
    domains: str = DOMAINS_TABLE


@dataclass
class Plan:
    """Temporary tables to create in order, then the two output queries."""

    steps: list[tuple[str, exp.Expr]] = field(default_factory=list)
    contacts: exp.Query | None = None
    accounts: exp.Query | None = None

    def statements(self, dialect: str, pretty: bool = False) -> list[str]:
        """The SQL to show (``--show-sql``): each step, then the output queries."""
        out = [
            f"CREATE TEMPORARY TABLE {name} AS\n{q.sql(dialect=dialect, pretty=pretty)}"
            for name, q in self.steps
        ]
        for q in (self.contacts, self.accounts):
            if q is not None:
                out.append(q.sql(dialect=dialect, pretty=pretty))
        return out


@dataclass
class AccountRun:
    """The account steps done on a connection: the two queries left to read, and what
    reading the accounts set aside (free-mail domains, shared domains)."""

    contacts_sql: str
    accounts_sql: str | None
    report: LinkReport
    tables: list[str]
    statements: list[str] = field(default_factory=list)  # the steps, when only shown

    def drop(self, con: DuckDBPyConnection) -> None:
        for name in reversed(self.tables):
            con.execute(f'DROP TABLE IF EXISTS "{name}"')


def contact_output_columns(models: Sequence[ScoringModel]) -> list[str]:
    return [*output_columns(models), "account_id"]


def account_group_columns(models: Sequence[ScoringModel]) -> list[str]:
    seen: dict[str, None] = {}
    for m in models:
        for g in m.account.groups if m.account is not None else ():
            seen.setdefault(g, None)
    return list(seen)


def account_output_columns(models: Sequence[ScoringModel]) -> list[str]:
    return ["account_id", "model", *account_group_columns(models), *ACCOUNT_FIXED, "contacts"]


def index_from_rows(rows: Sequence[tuple[object, object]], where: str = "accounts") -> AccountIndex:
    """The account index from ``(id, domain)`` rows, refusing empty and repeated ids."""
    ids = [r[0] for r in rows]
    empty = sum(1 for i in ids if i is None or str(i).strip() == "")
    if empty:
        raise DataError(f"{empty} account(s) have an empty id", source=where, column="id")
    seen: dict[str, int] = {}
    for i in ids:
        seen[str(i)] = seen.get(str(i), 0) + 1
    twice = sorted(i for i, k in seen.items() if k > 1)
    if twice:
        raise DataError(
            "account ids appear more than once: " + ", ".join(repr(i) for i in twice[:3]),
            source=where,
            column="id",
            hint="each account id must be unique",
        )
    return AccountIndex({"id": str(i), DOMAIN_PROPERTY: d} for i, d in rows)


# ----------------------------------------------------------------------------- account side


def _member_resolver(model: ScoringModel) -> Resolver:
    """Fields of a contact as roll-ups read them: its scores, else its properties."""
    groups = set(model.groups)

    def resolve(name: str) -> tuple[exp.Expr, str]:
        if name in groups or name == "total":
            return col(name, "__m"), "number"
        if name in ("grade", "stage"):
            return col(name, "__m"), "text"
        if name == "excluded":
            return case((col("excluded", "__m"), s("true")), default=s("false")), "text"
        if name == "id":
            return col("contact_id", "__m"), "text"
        return col(rollup_column(name), "__m"), "text"

    return resolve


def _account_resolver(ctx: CompileContext, columns: set[str]) -> Resolver:
    def resolve(name: str) -> tuple[exp.Expr, str]:
        if name in columns:
            return as_text(ctx.src, col(name, "a")), "text"
        return null_text(), "text"

    return resolve


def account_scores(
    ctx: CompileContext, join: AccountTables, members: str | None, group_columns: list[str]
) -> exp.Select:
    """Each account's scores; roll-ups over the contact scores in table ``members``
    (None: no contacts, the provisional scores)."""
    acc = ctx.model.account
    assert acc is not None
    d = ctx.d
    actx = CompileContext(
        ctx.model,
        d,
        ctx.src,
        ctx.as_of_us,
        None,
        carry=("contacts",),
        key="account_id",
        scoring=acc,
    )
    member_cond = Compiler(d, _member_resolver(ctx.model))
    columns = set(join.columns)
    resolve = _account_resolver(actx, columns)
    aggs: list[exp.Expr] = [exp.alias_(exp.Count(this=exp.Star()), "__contacts", quoted=True)]
    tops: list[tuple[str, exp.Select]] = []
    rule_cols: list[exp.Expr] = [
        exp.alias_(as_text(ctx.src, col("id", "a")), "account_id", quoted=True)
    ]
    k = 0
    for gname, group in acc.groups.items():
        for ri, rule in enumerate(group.rules):
            where = ("account", "groups", gname, "rules", ri)
            if isinstance(rule, RollupRule):
                pts, fired = _rollup(ctx, rule, k, where, member_cond, members, aggs, tops)
            else:
                pts, fired = static_points(actx, rule, where, resolve)
            rule_cols.append(exp.alias_(pts, f"__p{k}", quoted=True))
            rule_cols.append(exp.alias_(case((fired, n(1)), default=n(0)), f"__f{k}", quoted=True))
            k += 1
    account_cond = Compiler(d, resolve)
    for j, x in enumerate(acc.exclusions):
        hit = located(actx, ("account", "exclusions", j, "when"), partial(account_cond, x.when))
        rule_cols.append(exp.alias_(hit, f"__ex{j}", quoted=True))
    rule_cols.append(exp.alias_(exp.Literal.number(ctx.as_of_us), "__asof_us", quoted=True))
    contacts = exp.func("COALESCE", col("__contacts", "__aa"), n(0)) if members else n(0)
    rule_cols.append(exp.alias_(exp.cast(contacts, "bigint"), "contacts", quoted=True))
    r = exp.select(*rule_cols).from_(exp.alias_(table_ref(join.accounts), "a", quoted=True))
    ctes: list[tuple[str, exp.Expr]] = []
    if members is not None:
        m = (
            exp.select("*")
            .from_(table_ref(members))
            .where(exp.Not(this=exp.Is(this=col("__account_id"), expression=exp.null())))
        )
        ctes.append(("__am", m))
        agg = (
            exp.select(col("__account_id", "__m"), *aggs)
            .from_(exp.alias_(exp.Table(this=ident("__am")), "__m", quoted=True))
            .group_by(col("__account_id", "__m"))
        )
        ctes.append(("__aa", agg))
        r = r.join(
            exp.alias_(exp.Table(this=ident("__aa")), "__aa", quoted=True),
            on=col("__account_id", "__aa").eq(as_text(ctx.src, col("id", "a"))),
            join_type="left",
        )
        for name, q in tops:
            ctes.append((name, q))
            r = r.join(
                exp.alias_(exp.Table(this=ident(name)), name, quoted=True),
                on=col("__account_id", name).eq(as_text(ctx.src, col("id", "a"))),
                join_type="left",
            )
    ctes.append(("__r", r))
    return scores_query(actx, group_columns, ctes)


def _filtered(agg: exp.Expr, cond: exp.Expr) -> exp.Expr:
    return exp.Filter(this=agg, expression=exp.Where(this=cond))


def _rollup(
    ctx: CompileContext,
    rule: RollupRule,
    k: int,
    where: tuple[str | int, ...],
    member_cond: Compiler,
    members: str | None,
    aggs: list[exp.Expr],
    tops: list[tuple[str, exp.Select]],
) -> tuple[exp.Expr, exp.Expr]:
    """A roll-up's (points, fired) over the aggregates it adds to ``aggs`` / ``tops``.

    Its shape was checked on load: ``roles`` and ``count`` have points, the others ``of``.
    """
    if members is None:  # provisional: no contacts yet
        return dbl(0.0), exp.false()
    counted: exp.Expr
    try:
        counted = member_cond(rule.where) if rule.where is not None else exp.true()
    except Unsupported as exc:
        raise ModelError([Problem((*where, "where"), str(exc), engine_hint(ctx.d))]) from None
    if not rule.include_excluded:
        counted = exp.and_(exp.Not(this=col("excluded", "__m")), exp.paren(counted))
    agg = rule.rollup

    def got(name: str, default: exp.Expr) -> exp.Expr:
        return exp.func("COALESCE", col(name, "__aa"), default)

    aggs.append(
        exp.alias_(_filtered(exp.Count(this=exp.Star()), counted.copy()), f"__n{k}", quoted=True)
    )
    count = got(f"__n{k}", n(0))
    fired: exp.Expr
    raw: exp.Expr
    points = rule.points
    if agg == "roles":
        assert points is not None
        covered = []
        for i, (role, cond) in enumerate((rule.roles or {}).items()):
            try:
                holds = member_cond(cond)
            except Unsupported as exc:
                raise ModelError(
                    [Problem((*where, "roles", role), str(exc), engine_hint(ctx.d))]
                ) from None
            name = f"__o{k}_{i}"
            aggs.append(
                exp.alias_(
                    _filtered(
                        exp.Count(this=exp.Star()), exp.and_(counted.copy(), exp.paren(holds))
                    ),
                    name,
                    quoted=True,
                )
            )
            covered.append(case((got(name, n(0)) > 0, n(1)), default=n(0)))
        total: exp.Expr = covered[0]
        for c in covered[1:]:
            total = exp.Add(this=total, expression=c)
        fired = exp.paren(total) >= n(rule.roles_needed)
        return case((fired, dbl(points)), default=dbl(0.0)), fired.copy()
    if agg == "count":
        assert points is not None
        if rule.at_least is not None:
            fired = count >= n(rule.at_least)
            return case((fired, dbl(points)), default=dbl(0.0)), fired.copy()
        raw = exp.Mul(this=dbl(points), expression=exp.cast(count, "double"))
        return _capped(raw, rule.max_points, count.copy())
    of = rule.of
    assert of is not None
    value = col(of, "__m")
    if agg == "sum":
        aggs.append(
            exp.alias_(_filtered(exp.Sum(this=value), counted.copy()), f"__s{k}", quoted=True)
        )
        raw = got(f"__s{k}", dbl(0.0))
    elif agg == "max":
        aggs.append(
            exp.alias_(_filtered(exp.Max(this=value), counted.copy()), f"__s{k}", quoted=True)
        )
        raw = got(f"__s{k}", dbl(0.0))
    else:
        name = f"__tp{k}"
        rank = exp.Window(
            this=exp.RowNumber(),
            partition_by=[col("__account_id", "__m")],
            order=exp.Order(
                expressions=[
                    exp.Ordered(this=value.copy(), desc=True),
                    exp.Ordered(this=col("contact_id", "__m")),
                ]
            ),
        )
        inner = (
            exp.select(
                col("__account_id", "__m"),
                exp.alias_(value.copy(), "__v", quoted=True),
                exp.alias_(rank, "__rn", quoted=True),
            )
            .from_(exp.alias_(exp.Table(this=ident("__am")), "__m", quoted=True))
            .where(counted.copy())
        )
        tops.append(
            (
                name,
                exp.select(
                    col("__account_id"), exp.alias_(exp.Sum(this=col("__v")), "__s", quoted=True)
                )
                .from_(exp.alias_(exp.Subquery(this=inner), "__w", quoted=True))
                .where(col("__rn") <= n(rule.top or 1))
                .group_by(col("__account_id")),
            )
        )
        raw = exp.Div(
            this=exp.func("COALESCE", col("__s", name), dbl(0.0)),
            expression=dbl(float(rule.top or 1)),
        )
    return _capped(raw, rule.max_points, count.copy())


def _capped(raw: exp.Expr, cap: float | None, count: exp.Expr) -> tuple[exp.Expr, exp.Expr]:
    value = raw
    if cap is not None:
        value = case(
            (
                exp.Abs(this=raw.copy()) > dbl(cap),
                case((raw.copy() > dbl(0.0), dbl(cap)), default=dbl(-cap)),
            ),
            default=raw.copy(),
        )
    fired = count > n(0)
    return case((count.copy().eq(0), dbl(0.0)), default=value), fired


# ----------------------------------------------------------------------------- the plan


def _contact_outputs(ctx: CompileContext, group_columns: list[str], table: str) -> exp.Select:
    """The contact output columns of a scores table (its ``__account_id`` as ``account_id``)."""
    cols = ["contact_id", "model", *group_columns, *OUTPUT_FIXED]
    if ctx.with_matrix:
        cols += MATRIX_COLUMNS
    return exp.select(
        *[col(c) for c in cols], exp.alias_(col("__account_id"), "account_id", quoted=True)
    ).from_(table_ref(table))


def model_plan(
    model: ScoringModel,
    d: Dialect,
    src: Source,
    tables: AccountTables,
    *,
    as_of_us: int,
    group_columns: list[str],
    account_columns: list[str],
    tag: str,
    matrix_columns: bool = False,
) -> Plan:
    """The steps scoring one model's contacts and accounts (see the module's docstring)."""
    use = model.account_use
    plan = Plan()
    scored = model.account is not None
    provisional = None
    if scored and use.score_fields:
        provisional = f"__ls_a0{tag}"
        base = CompileContext(model, d, src, as_of_us, None)
        plan.steps.append((provisional, account_scores(base, tables, None, account_columns)))
    join = AccountJoin(
        tables.accounts,
        tables.columns,
        tables.domains,
        provisional,
        account_fields(model, provisional is not None),
    )
    carry = ("__account_id", *(rollup_column(p) for p in rollup_props(model)))
    ctx = CompileContext(
        model, d, src, as_of_us, None, accounts=join, carry=carry, matrix_columns=matrix_columns
    )
    if not scored:
        query = build(ctx, group_columns)
        plan.contacts = _contact_outputs(ctx, group_columns, "__q").with_("__q", as_=query)
        return plan
    second = use.reads_dynamic
    if second:
        rules_table = f"__ls_r{tag}"
        kept = _recomputed_fields(ctx, use.score_rules)
        rctx = CompileContext(
            model,
            d,
            src,
            as_of_us,
            None,
            accounts=join,
            carry=(*carry, *kept),
            matrix_columns=matrix_columns,
        )
        plan.steps.append((rules_table, build(rctx, group_columns, until_rules=True)))
        first = scores_query(
            ctx, group_columns, [("__r", exp.select("*").from_(table_ref(rules_table)))]
        )
    else:
        first = build(ctx, group_columns)
    members = f"__ls_p{tag}"
    plan.steps.append((members, first))
    final_accounts = f"__ls_acc{tag}"
    plan.steps.append((final_accounts, account_scores(ctx, tables, members, account_columns)))
    if second:
        plan.contacts = _second_pass(ctx, join, final_accounts, rules_table, group_columns)
    else:
        plan.contacts = _contact_outputs(ctx, group_columns, members)
    plan.accounts = exp.select(*[col(c) for c in account_columns_of(model, account_columns)]).from_(
        table_ref(final_accounts)
    )
    return plan


def account_columns_of(model: ScoringModel, account_columns: list[str]) -> list[str]:
    return ["account_id", "model", *account_columns, *ACCOUNT_FIXED, "contacts"]


def _recomputed_fields(ctx: CompileContext, rules: frozenset[str]) -> tuple[str, ...]:
    """The contact columns the rules recomputed in the second pass read."""
    names: set[str] = set()
    for _, rule in ctx.model.rules():
        if rule.name in rules:
            names |= rule_fields(rule)
    for x in ctx.model.exclusions:
        if x.name in rules and x.when is not None:
            names |= condition_fields(x.when)
    return tuple(f for f in contact_fields(ctx) if f in names)


def _second_pass(
    ctx: CompileContext,
    join: AccountJoin,
    scores_table: str,
    rules_table: str,
    group_columns: list[str],
) -> exp.Select:
    """The contacts again from the stored rule points, the rules reading account scores
    recomputed with the final account scores."""
    model = ctx.model
    final_join = AccountJoin(
        join.accounts_table,
        join.account_columns,
        join.domains_table,
        scores_table,
        account_fields(model, True),
    )
    fctx = CompileContext(
        model,
        ctx.d,
        ctx.src,
        ctx.as_of_us,
        None,
        accounts=final_join,
        carry=("__account_id",),
        matrix_columns=ctx.matrix_columns,
    )
    c2 = (
        exp.select(
            exp.Column(this=exp.Star(), table=ident("__rt")),
            *[col(f, "__av") for f in final_join.fields],
        )
        .from_(exp.alias_(table_ref(rules_table), "__rt", quoted=True))
        .join(
            exp.alias_(exp.Subquery(this=account_values(fctx)), "__av", quoted=True),
            on=col("__aid", "__av").eq(col("__account_id", "__rt")),
            join_type="left",
        )
    )
    event_rules = [
        (g, r)
        for g, r in model.rules()
        if isinstance(r, EventRule | FrequencyRule | InactivityRule)
    ]
    ev_exclusions = [x for x in model.exclusions if x.on is not None]
    r = exp.select(
        *rule_columns(
            fctx, event_rules, ev_exclusions, uses_reset(model), keep=model.account_use.score_rules
        )
    ).from_(exp.alias_(exp.Table(this=ident("__c2")), "c", quoted=True))
    query = scores_query(fctx, group_columns, [("__c2", c2), ("__r", r)])
    return _contact_outputs(fctx, group_columns, "__q").with_("__q", as_=query)


def build_plan(
    models: ScoringModel | Sequence[ScoringModel],
    dialect: str | Dialect,
    source: Source,
    tables: AccountTables,
    *,
    as_of: datetime | str,
) -> Plan:
    """Every model's steps, and the union of their outputs (ordered by id, then model)."""
    models = [models] if isinstance(models, ScoringModel) else list(models)
    d = get_dialect(dialect) if isinstance(dialect, str) else dialect
    for m in models:
        if m.reads_predicted():
            raise ModelError(
                [
                    Problem(
                        ("predicted",),
                        f"model {m.name!r} reads the predicted score, which comes from a "
                        "trained model, not from SQL",
                        "score it in the service, or drop what reads 'predicted' for batch scoring",
                    )
                ]
            )
    groups = contact_groups(models)
    acc_groups = account_group_columns(models)
    us = as_of_micros(as_of)
    plans = [
        model_plan(
            m,
            d,
            source,
            tables,
            as_of_us=us,
            group_columns=groups,
            account_columns=acc_groups,
            tag=str(i),
            matrix_columns=has_matrix(models),
        )
        for i, m in enumerate(models)
    ]
    out = Plan(steps=[step for p in plans for step in p.steps])
    contacts = [p.contacts for p in plans if p.contacts is not None]
    assert len(contacts) == len(plans)  # every model's plan ends with its contacts query
    out.contacts = _union(contacts, "contact_id")
    scored = [p.accounts for p in plans if p.accounts is not None]
    out.accounts = _union(scored, "account_id") if scored else None
    return out


def _union(parts: list[exp.Query], key: str) -> exp.Select:
    union: exp.Query = exp.select("*").from_(parts[0].subquery("__u0"))
    for i, p in enumerate(parts[1:], start=1):
        union = exp.union(union, exp.select("*").from_(p.subquery(f"__u{i}")), distinct=False)
    return exp.select("*").from_(union.subquery("__all")).order_by(col(key), col("model"))


def uses_accounts(models: Sequence[ScoringModel]) -> bool:
    """Whether scoring these models reads accounts at all."""
    return any(m.account is not None or m.account_use.reads_account for m in models)


__all__ = [
    "AccountRun",
    "AccountTables",
    "Plan",
    "account_output_columns",
    "build_plan",
    "contact_output_columns",
    "index_from_rows",
    "uses_accounts",
]

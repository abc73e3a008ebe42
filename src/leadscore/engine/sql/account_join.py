"""The contacts side of accounts: each contact's account (an explicit link, else its
e-mail domain) and the ``account.<name>`` fields its rules read, joined into the
contacts CTE of :mod:`.compiler`. The account side (roll-ups, the plan of steps) is
in :mod:`.accounts`."""

from __future__ import annotations

from sqlglot import exp

from ...model.accounts import ACCOUNT, ACCOUNT_SCORES, rollup_properties
from ...model.schema import ScoringModel
from ..linking import EMAIL_PROPERTY, LINK_PROPERTY
from .base import CompileContext, as_text, col, table_ref
from .conditions import Values, null_text
from .dialects import case, s


def account_fields(model: ScoringModel, with_scores: bool) -> dict[str, str]:
    """The ``account.<name>`` fields the contact rules read, each with its SQL kind."""
    use = model.account_use
    numbers = {"total", *(model.account.groups if model.account is not None else ())}
    out = {ACCOUNT + name: "text" for name in sorted(use.property_fields)}
    if with_scores:
        for name in sorted(use.score_fields):
            out[ACCOUNT + name] = "maybe_number" if name in numbers else "text"
    return out


def account_values(ctx: CompileContext) -> exp.Select:
    """Each account's id (``__aid``) and the ``account.<name>`` fields the contacts read."""
    join, src = ctx.accounts, ctx.src
    assert join is not None
    acc = ctx.model.account
    groups = set(acc.groups) if acc is not None else set()
    cols: list[exp.Expr] = [exp.alias_(as_text(src, col("id", "__a")), "__aid", quoted=True)]
    scored = join.scores_table is not None
    for name in join.fields:
        short = name[len(ACCOUNT) :]
        if scored and (short in groups or short in ACCOUNT_SCORES):
            value: exp.Expr = col(short, "__s")
            if short == "excluded":
                value = case(
                    (exp.Is(this=value, expression=exp.null()), null_text()),
                    (value.copy(), s("true")),
                    default=s("false"),
                )
        elif short in join.account_columns:
            value = as_text(src, col(short, "__a"))
        else:
            value = null_text()
        cols.append(exp.alias_(value, name, quoted=True))
    q = exp.select(*cols).from_(exp.alias_(table_ref(join.accounts_table), "__a", quoted=True))
    if join.scores_table is not None:  # scored
        q = q.join(
            exp.alias_(table_ref(join.scores_table), "__s", quoted=True),
            on=col("account_id", "__s").eq(as_text(src, col("id", "__a"))),
            join_type="left",
        )
    return q


def join_accounts(ctx: CompileContext, select: exp.Select, t: str) -> exp.Select:
    """The contacts CTE read from ``contacts AS t`` joined with each contact's account:
    ``__account_id`` and the account fields the rules read."""
    d, src, join = ctx.d, ctx.src, ctx.accounts
    assert join is not None
    have = set(src.contact_columns)
    q = select.from_(exp.alias_(table_ref(src.contacts_table), t, quoted=True))
    explicit = by_domain = present = None
    if LINK_PROPERTY in have:
        raw = as_text(src, col(LINK_PROPERTY, t))
        present = Values(d).present(raw)
        q = q.join(
            exp.alias_(table_ref(join.accounts_table), "__ea", quoted=True),
            on=exp.and_(present, as_text(src, col("id", "__ea")).eq(d.trim_ws(raw.copy()))),
            join_type="left",
        )
        explicit = as_text(src, col("id", "__ea"))
    if EMAIL_PROPERTY in have:
        domain = exp.Nullif(
            this=d.lower(d.trim_ws(d.after_last_at(as_text(src, col(EMAIL_PROPERTY, t))))),
            expression=s(""),
        )
        on: exp.Expr = col("domain", "__dm").eq(domain)
        if present is not None:
            on = exp.and_(exp.Not(this=exp.paren(present.copy())), on)
        q = q.join(
            exp.alias_(table_ref(join.domains_table), "__dm", quoted=True), on=on, join_type="left"
        )
        by_domain = col("account_id", "__dm")
    if explicit is not None and by_domain is not None:
        assert present is not None  # found with the explicit link
        aid = case((present.copy(), explicit), default=by_domain)
    else:
        aid = explicit or by_domain or null_text()
    q = q.select(exp.alias_(aid, "__account_id", quoted=True))
    for prop in rollup_props(ctx.model):
        value = as_text(src, col(prop, t)) if prop in have else null_text()
        q = q.select(exp.alias_(value, rollup_column(prop), quoted=True))
    if join.fields:
        q = q.join(
            exp.alias_(exp.Subquery(this=account_values(ctx)), "__av", quoted=True),
            on=col("__aid", "__av").eq(aid.copy()),
            join_type="left",
        )
        q = q.select(*[col(f, "__av") for f in join.fields])
    return q


def rollup_column(prop: str) -> str:
    return f"__rp.{prop}"


def rollup_props(model: ScoringModel) -> list[str]:
    """Contact properties the roll-ups' conditions read (a contact's id is its
    contact_id column)."""
    return sorted(rollup_properties(model) - {"id", "predicted"})


__all__ = ["account_fields", "account_values", "join_accounts", "rollup_column", "rollup_props"]

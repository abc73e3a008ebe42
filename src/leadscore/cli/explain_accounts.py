"""``leadscore explain --accounts``: one account's breakdown, or one contact's with
the account it reads.

An account's scores depend only on its own contacts, so the account is scored with
its members alone: every contact is linked (:class:`AccountIndex`), then
:func:`score_population` runs over the members and that one account, which gives
what scoring the whole population gives.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from ..engine.accounts import AccountResult, Population, score_population
from ..engine.linking import EMAIL_PROPERTY, LINK_PROPERTY, AccountIndex
from ..engine.result import ScoreResult
from ..errors import DataError
from ..model import ScoringModel
from .common import console, fmt_points, fmt_score

if TYPE_CHECKING:
    from ..data.io import Inputs


def _close_ids(con, table: str, wanted: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            f"SELECT id FROM {table} ORDER BY levenshtein(id, ?), id LIMIT 3", [wanted]
        ).fetchall()
    ]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _link_columns(inputs) -> list[str]:
    return [c for c in (LINK_PROPERTY, EMAIL_PROPERTY) if c in inputs.properties]


def _members(inputs, index: AccountIndex, account_id: str) -> list[str]:
    """Ids of the contacts that link to ``account_id``."""
    cols = _link_columns(inputs)
    if not cols:
        return []
    select = ", ".join(["id", *(_quote(c) for c in cols)])
    out = []
    cur = inputs.con.execute(f"SELECT {select} FROM contacts ORDER BY id")
    while batch := cur.fetchmany(50_000):
        for cid, *values in batch:
            if index.link(dict(zip(cols, values, strict=True))) == account_id:
                out.append(cid)
    return out


def _population(
    model, inputs, index: AccountIndex, account_id: str | None, ids: list[str], when
) -> Population:
    """Score ``ids`` (the contacts table cut down to them) with their one account."""
    con = inputs.con
    con.execute("CREATE OR REPLACE TEMP TABLE __explain_ids (id VARCHAR)")
    con.executemany("INSERT INTO __explain_ids VALUES (?)", [[i] for i in ids])
    con.execute(
        "CREATE OR REPLACE TEMP TABLE contacts AS SELECT * FROM contacts "
        "WHERE id IN (SELECT id FROM __explain_ids)"
    )
    people = list(inputs.contact_rows())
    accounts = [] if account_id is None else [index.by_id[account_id]]
    return score_population(model, people, accounts, as_of=when)


def account_population(
    model: ScoringModel, inputs: Inputs, account_id: str, when: datetime, source: str
) -> Population:
    """The account ``account_id`` scored with its contacts (DataError if unknown)."""
    found = inputs.con.execute(
        "SELECT count(*) FROM accounts WHERE id = ?", [account_id]
    ).fetchone()[0]
    if not found:
        near = _close_ids(inputs.con, "accounts", account_id)
        raise DataError(
            f"no account with id {account_id!r}",
            source=source,
            hint="ids close to it: " + ", ".join(near) if near else None,
        )
    index = AccountIndex(inputs.account_rows())
    ids = _members(inputs, index, account_id)
    return _population(model, inputs, index, account_id, ids, when)


def contact_population(
    model: ScoringModel, inputs: Inputs, contact_id: str, when: datetime
) -> tuple[ScoreResult, Population]:
    """One contact scored as ``score --accounts`` scores it: with its account's members."""
    index = AccountIndex(inputs.account_rows())
    cols = _link_columns(inputs)
    row = inputs.con.execute(
        f"SELECT {', '.join(['id', *(_quote(c) for c in cols)])} FROM contacts WHERE id = ?",
        [contact_id],
    ).fetchone()
    account_id = index.link(dict(zip(cols, row[1:], strict=True)))
    ids = [contact_id] if account_id is None else _members(inputs, index, account_id)
    pop = _population(model, inputs, index, account_id, ids, when)
    mine = next(r for r in pop.contacts if str(r.contact_id) == contact_id)
    return mine, pop


# ----------------------------------------------------------------------------- printing


def print_account_link(pop: Population, contact_id: str) -> None:
    aid = pop.links.get(contact_id)
    if aid is None:
        console.print("account: none (every account.<field> is missing)", markup=False)
        return
    acc = pop.accounts[0] if pop.accounts else None
    if acc is None:  # the model reads account properties but scores no account
        console.print(f"account: {aid}", markup=False)
        return
    stage = "excluded" if acc.excluded else (acc.stage or "none")
    console.print(
        f"account: {aid} (total {fmt_score(acc.total)}, grade {acc.grade or '-'}, stage {stage})",
        markup=False,
    )


def members(pop: Population) -> list[dict[str, Any]]:
    """The account's contacts: their score under the model and what they gave it,
    the largest contribution first."""
    acc = pop.accounts[0]
    given = acc.contributions()
    out = [
        {
            "contact_id": str(r.contact_id),
            "total": r.total,
            "grade": r.grade,
            "stage": r.stage,
            "excluded": r.excluded,
            "contribution": given.get(str(r.contact_id), 0.0),
        }
        for r in pop.contacts
    ]
    out.sort(key=lambda m: (-m["contribution"], -m["total"], m["contact_id"]))
    return out


def print_json(pop: Population) -> None:
    data = pop.accounts[0].model_dump(mode="json")
    data["members"] = members(pop)
    print(json.dumps(data, indent=2, ensure_ascii=False))


def print_account_breakdown(
    pop: Population, model: ScoringModel, *, show_all: bool = False, top: int = 10
) -> None:
    result: AccountResult = pop.accounts[0]
    acc = model.account
    head = (
        f"[bold]{escape(result.account_id)}[/] — {escape(result.model)} as of "
        f"{result.as_of.isoformat()}: total [bold]{fmt_score(result.total)}[/]"
    )
    if result.grade:
        head += f", grade [bold]{result.grade}[/]"
    if result.excluded:
        head += f", [red]excluded ({escape('; '.join(result.exclusion_reasons))})[/]"
    elif result.stage:
        head += f", stage [bold green]{escape(result.stage)}[/]"
    head += f"; {result.contacts} contact(s)"
    console.print(head)
    table = Table(header_style="bold")
    for col, justify in (("rule", "left"), ("contacts", "right"), ("raw", "right"),
                         ("points", "right"), ("note", "left")):  # fmt: skip
        table.add_column(col, justify=justify)
    for group, value in result.groups.items():
        for hit in [h for h in result.breakdown if h.group == group and (h.fired or show_all)]:
            note = hit.detail or ""
            if hit.capped:
                note = (note + ", " if note else "") + "capped"
            table.add_row(
                escape(hit.rule),
                str(hit.matched) if hit.kind == "rollup" else "",
                fmt_points(hit.points_raw),
                fmt_points(hit.points),
                escape(note),
                style=None if hit.fired else "dim",
            )
            shown = sorted(hit.contributions, key=lambda c: (-c.points, c.contact_id))
            for c in shown[:top]:
                table.add_row(
                    f"  [dim]↳[/] {escape(c.contact_id)}",
                    "",
                    "",
                    fmt_points(c.points),
                    escape(c.detail or ""),
                )
            if len(shown) > top:
                rest = sum(c.points for c in shown[top:])
                table.add_row(f"  [dim]↳ {len(shown) - top} more[/]", "", "", fmt_points(rest), "")
        table.add_row(
            f"[bold]{escape(group)}[/]", "", "", f"[bold]{fmt_score(value)}[/]", "",
            end_section=True,
        )  # fmt: skip
    console.print(table)
    _print_members(members(pop), top)
    from ..model.conditions import describe

    reasons = ", ".join(result.exclusion_reasons) or "none"
    console.print(f"exclusions: {reasons}", markup=False)
    reached = next((t for t in acc.thresholds if t.stage == result.stage), None)
    if result.excluded:
        console.print("stage: none (excluded)", markup=False)
    elif reached is not None:
        console.print(f"stage: {reached.stage} ({describe(reached.when)})", markup=False)
    else:
        console.print(f"stage: {result.stage or 'none'} (no threshold reached)", markup=False)
    if result.contacts == 0:
        console.print(
            "no contact links to this account: its roll-ups are 0 (contacts link by "
            "account_id, else by the domain of their e-mail)",
            markup=False,
        )


def _print_members(people: list[dict[str, Any]], top: int) -> None:
    if not people:
        return
    table = Table(title="Its contacts", title_justify="left", header_style="bold")
    for col, justify in (("contact", "left"), ("total", "right"), ("stage", "left"),
                         ("contribution", "right")):  # fmt: skip
        table.add_column(col, justify=justify)
    for m in people[:top]:
        stage = "[red]excluded[/]" if m["excluded"] else escape(m["stage"] or "")
        table.add_row(
            escape(m["contact_id"]), fmt_score(m["total"]), stage, fmt_points(m["contribution"])
        )
    if len(people) > top:
        rest = sum(m["contribution"] for m in people[top:])
        table.add_row(f"[dim]{len(people) - top} more[/]", "", "", fmt_points(rest))
    console.print(table)

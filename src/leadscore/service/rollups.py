"""Account roll-ups kept up to date contact by contact.

What a contact gives its account's roll-ups under a model is a few *entries*
(:func:`~leadscore.engine.accounts.member_entries`): ``*`` for being a member, ``<i>``
with the score the i-th roll-up reads when it counts the contact, ``<i>/<role>`` for
each role it holds. The store keeps every entry (``account_rollup_entries``) and, per
account, each entry key's count and exact sum (``account_rollup_state``). When a
contact's score changes, its old entries are taken out of the figures and its new ones
put in; ``max`` and ``top`` read their best values from the entries' index. So an
event costs the same whatever the account's size, and the figures are those of a
rescoring from scratch exactly: counts are integers, sums are kept as integers of
2**-1074 (every float is one) and rounded once, as ``math.fsum`` rounds them.

An account is rescored from all its members (and its entries rebuilt) when it has no
figures under the current version, when its properties changed, or when it lost a
contact (see :class:`~leadscore.service.accounts.AccountPass`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..engine.accounts import AccountRuleHit, RollupFigures, rollup_contributions
from ..model.schema import ScoringModel
from ..store import tables as T

E, F = T.account_rollup_entries.c, T.account_rollup_state.c
SCALE = 2**1074  # every finite float is an integer number of 2**-1074
MEMBER = "*"
CHUNK = 500

Entries = dict[str, float]  # entry key → value


def exact(value: float) -> int:
    """``value`` as an integer number of 2**-1074, without rounding."""
    num, den = float(value).as_integer_ratio()
    return num * (SCALE // den)


def rounded(total: int) -> float:
    """The float nearest an exact sum (integer division rounds correctly)."""
    return total / SCALE


@dataclass
class State:
    """One account's stored figures: entry key → [count, exact sum]."""

    version: int
    figures: dict[str, list[int]]
    stored: bool = True  # a row exists

    @classmethod
    def of(cls, row: Any) -> State:
        figures = {k: [int(n), int(s)] for k, (n, s) in (row.figures or {}).items()}
        return cls(row.version, figures)

    def add(self, entries: Entries, sign: int) -> None:
        for key, value in entries.items():
            n, total = self.figures.get(key, [0, 0])
            n, total = n + sign, total + sign * exact(value)
            if n:
                self.figures[key] = [n, total]
            else:
                self.figures.pop(key, None)

    def count(self, key: str) -> int:
        return self.figures.get(key, [0, 0])[0]

    def total(self, key: str) -> float:
        return rounded(self.figures.get(key, [0, 0])[1])

    def row(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "figures": {k: [n, str(s)] for k, (n, s) in sorted(self.figures.items())},
        }


def load_states(conn: sa.Connection, model: str, accounts: Iterable[str]) -> dict[str, State]:
    wanted = sorted(set(accounts))
    if not wanted:
        return {}
    q = sa.select(T.account_rollup_state).where(F.model_name == model, F.account_id.in_(wanted))
    return {r.account_id: State.of(r) for r in conn.execute(q)}


def entries_of(
    conn: sa.Connection, models: Sequence[str], contacts: Iterable[str]
) -> dict[tuple[str, str], dict[str, Entries]]:
    """The stored entries of these contacts: (model, contact) → account → entries."""
    wanted = sorted(set(contacts))
    out: dict[tuple[str, str], dict[str, Entries]] = {}
    if not wanted or not models:
        return out
    q = sa.select(E.model_name, E.contact_id, E.account_id, E.entry, E.value).where(
        E.model_name.in_(sorted(models)),
        E.contact_id.in_(sa.bindparam("ids", expanding=True)),
    )
    for start in range(0, len(wanted), CHUNK):
        for r in conn.execute(q, {"ids": wanted[start : start + CHUNK]}):
            by_account = out.setdefault((r.model_name, r.contact_id), {})
            by_account.setdefault(r.account_id, {})[r.entry] = r.value
    return out


def _save_state(conn: sa.Connection, model: str, account: str, state: State) -> None:
    if state.stored:
        conn.execute(
            sa.update(T.account_rollup_state)
            .where(F.model_name == model, F.account_id == account)
            .values(**state.row())
        )
    else:
        conn.execute(
            sa.insert(T.account_rollup_state).values(
                model_name=model, account_id=account, **state.row()
            )
        )
        state.stored = True


def _insert(conn: sa.Connection, model: str, account: str, entries: Mapping[str, Entries]) -> None:
    rows = [
        {"model_name": model, "account_id": account, "entry": k, "contact_id": cid, "value": v}
        for cid, mine in sorted(entries.items())
        for k, v in sorted(mine.items())
    ]
    for start in range(0, len(rows), CHUNK):
        conn.execute(sa.insert(T.account_rollup_entries), rows[start : start + CHUNK])


def rebuild(
    conn: sa.Connection,
    model: str,
    version: int,
    account: str,
    members: Mapping[str, Entries],
    before: State | None,
) -> State:
    """Make an account's entries and figures those of all its ``members``, writing only
    the contacts whose entries differ (a sweep changes few of them)."""
    current: dict[str, Entries] = {}
    q = sa.select(E.contact_id, E.entry, E.value).where(
        E.model_name == model, E.account_id == account
    )
    for r in conn.execute(q):
        current.setdefault(r.contact_id, {})[r.entry] = r.value
    stale = sorted(c for c in current.keys() | members.keys() if current.get(c) != members.get(c))
    for start in range(0, len(stale), CHUNK):
        conn.execute(
            sa.delete(T.account_rollup_entries).where(
                E.model_name == model,
                E.account_id == account,
                E.contact_id.in_(stale[start : start + CHUNK]),
            )
        )
    _insert(conn, model, account, {c: members[c] for c in stale if c in members})
    state = State(version, {}, stored=before is not None)
    for entries in members.values():
        state.add(entries, 1)
    if before is None or before.version != version or before.figures != state.figures:
        _save_state(conn, model, account, state)
    return state


def update(
    conn: sa.Connection,
    model: str,
    account: str,
    state: State,
    old: Mapping[str, Entries],
    new: Mapping[str, Entries],
) -> None:
    """Move some members' entries from ``old`` to ``new`` (contact → entries; a contact
    missing from ``old`` joins the account)."""
    moved = sorted(c for c in new if old.get(c, {}) != new[c])
    if not moved:
        return
    for cid in moved:
        state.add(old.get(cid, {}), -1)
        state.add(new[cid], 1)
    conn.execute(
        sa.delete(T.account_rollup_entries).where(
            E.model_name == model, E.account_id == account, E.contact_id.in_(moved)
        )
    )
    _insert(conn, model, account, {c: new[c] for c in moved})
    _save_state(conn, model, account, state)


def _id_order(conn: sa.Connection) -> Any:
    """Contact ids in code-point order, as Python sorts them (PostgreSQL's database
    collation may differ; SQLite compares bytes already)."""
    return sa.collate(E.contact_id, "C") if conn.dialect.name == "postgresql" else E.contact_id


def best(conn: sa.Connection, model: str, account: str, key: str, size: int):
    """The ``size`` highest values of one entry key, ties by contact id: an index range."""
    q = (
        sa.select(E.contact_id, E.value)
        .where(E.model_name == model, E.account_id == account, E.entry == key)
        .order_by(E.value.desc(), _id_order(conn))
        .limit(size)
    )
    return tuple((r.contact_id, r.value) for r in conn.execute(q))


def figures(
    conn: sa.Connection, model: ScoringModel, account: str, state: State
) -> tuple[list[RollupFigures], int]:
    """Each roll-up's figures from the stored state, and the account's member count."""
    acc = model.account
    out: list[RollupFigures] = []
    for i, (_, rule) in enumerate(acc.rollups() if acc is not None else ()):
        key = str(i)
        if rule.rollup == "roles":
            roles = tuple(r for r in rule.roles or {} if state.count(f"{i}/{r}") > 0)
            out.append(RollupFigures(0, roles=roles))
        elif rule.rollup in ("max", "top"):
            chosen = best(conn, model.name, account, key, rule.top or 1)
            out.append(RollupFigures(state.count(key), chosen=chosen))
        else:
            out.append(RollupFigures(state.count(key), total=state.total(key)))
    return out, state.count(MEMBER)


def forget(conn: sa.Connection, *, model: str | None = None, account: str | None = None) -> None:
    """Drop the entries and figures of a model or of an account."""
    for table in (T.account_rollup_entries, T.account_rollup_state):
        q = sa.delete(table)
        if model is not None:
            q = q.where(table.c.model_name == model)
        if account is not None:
            q = q.where(table.c.account_id == account)
        conn.execute(q)


def with_contributions(
    conn: sa.Connection, model: ScoringModel, account: str, breakdown: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """A stored account breakdown with what each contact gave its ``sum``, ``count`` and
    ``roles`` roll-ups (stored without them, so a write stays small), read from the
    entries: the contributions a rescoring from scratch lists."""
    out = [dict(h) for h in breakdown or ()]
    acc = model.account
    if acc is None:
        return out
    hits = [h for h in out if h.get("kind") == "rollup"]
    rules = list(acc.rollups())
    if len(hits) != len(rules):
        return out  # scored by another version of the model
    for i, ((gname, rule), hit) in enumerate(zip(rules, hits, strict=True)):
        if rule.rollup in ("max", "top") or (hit["group"], hit["rule"]) != (gname, rule.name):
            continue
        q = sa.select(E.entry, E.contact_id, E.value).where(
            E.model_name == model.name,
            E.account_id == account,
            sa.or_(E.entry == str(i), E.entry.like(f"{i}/%")),
        )
        counted: list[tuple[str, float]] = []
        holders: dict[str, list[str]] = {}
        for r in conn.execute(q):
            if r.entry == str(i):
                counted.append((r.contact_id, r.value))
            else:
                holders.setdefault(r.entry.split("/", 1)[1], []).append(r.contact_id)
        counted.sort()
        for who in holders.values():
            who.sort()
        given = rollup_contributions(rule, AccountRuleHit(**hit), counted, holders)
        hit["contributions"] = [c.model_dump() for c in given]
    return out


def stored_form(model: ScoringModel, result: Any) -> Any:
    """An account result as stored: its ``sum``, ``count`` and ``roles`` roll-ups name no
    contacts (:func:`with_contributions` adds them back when read)."""
    acc = model.account
    if acc is None:
        return result
    listed = {(g, r.name) for g, r in acc.rollups() if r.rollup not in ("max", "top")}
    hits = tuple(
        h.model_copy(update={"contributions": ()})
        if h.kind == "rollup" and (h.group, h.rule) in listed and h.contributions
        else h
        for h in result.breakdown
    )
    return result.model_copy(update={"breakdown": hits})


def full_breakdown(conn: sa.Connection, pubs: Sequence[Any], row: Any) -> list[dict[str, Any]]:
    """A stored ``account_scores`` row's breakdown with every contribution, when the row
    is the published version's (``pubs``: the published models); else as stored."""
    pub = next((p for p in pubs if p.name == row.model_name and p.version == row.version), None)
    if pub is None:
        return list(row.breakdown or ())
    return with_contributions(conn, pub.model, row.account_id, row.breakdown)

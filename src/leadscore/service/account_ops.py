"""What the API and the web app do with accounts: write them, delete them, list them,
and the data of an account's page (its scores, contacts and their contributions)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..engine.linking import domain_kind, normalise_domain
from ..store import tables as T
from .accounts import contact_rows, links, load_accounts, members_of
from .problems import ApiProblem
from .rollups import forget, full_breakdown

A, S, H = T.accounts.c, T.account_scores.c, T.account_score_history.c
RESERVED = ("id", "domain")  # given as fields of the body, not as properties


def linkable_domain(value: str | None) -> str | None:
    """The domain an account stores, or an API problem saying what is wrong with it."""
    if value is None:
        return None
    domain = normalise_domain(value)
    if domain is None:
        raise ApiProblem(
            422, f"{value!r} is not a domain; write it as e.g. acme.com", kind="validation"
        )
    kind = domain_kind(domain)
    if kind != "business":
        raise ApiProblem(
            422,
            f"{domain!r} is a {'disposable' if kind == 'disposable' else 'free-mail'} domain: "
            "no contact may link to an account by it; leave 'domain' out and give the "
            "account's contacts an 'account_id' property instead",
            kind="validation",
        )
    return domain


def upsert_account(conn: sa.Connection, item: Any, now: datetime) -> tuple[bool, set[str]]:
    """Write one account; whether it is new, and the contacts it lost (a domain change)."""
    for key in RESERVED:
        if key in item.properties:
            raise ApiProblem(
                422,
                f"'{key}' is a field of the account, not a property: give it beside 'properties'",
                kind="validation",
            )
    row = conn.execute(sa.select(T.accounts).where(A.id == item.id)).first()
    domain = row.domain if row is not None else None
    if "domain" in item.model_fields_set:
        domain = linkable_domain(item.domain)
    if domain is not None:
        other = conn.execute(sa.select(A.id).where(A.domain == domain, A.id != item.id)).scalar()
        if other is not None:
            raise ApiProblem(
                409,
                f"the domain {domain!r} already belongs to account {other!r}; one account "
                "per domain links its contacts",
                kind="conflict",
            )
    before = set(members_of(conn, [row])[row.id]) if row is not None else set()
    if row is None:
        props = {k: v for k, v in item.properties.items() if v is not None}
        conn.execute(
            sa.insert(T.accounts).values(
                id=item.id, domain=domain, properties=props, created_at=now, updated_at=now
            )
        )
        return True, set()
    props = {} if item.replace else dict(row.properties or {})
    for k, v in item.properties.items():
        if v is None:
            props.pop(k, None)
        else:
            props[k] = v
    conn.execute(
        sa.update(T.accounts)
        .where(A.id == item.id)
        .values(domain=domain, properties=props, updated_at=now)
    )
    new = load_accounts(conn, [item.id])[item.id]
    return False, before - set(members_of(conn, [new])[item.id])


def delete_account(conn: sa.Connection, account_id: str) -> tuple[list[str], dict[str, int]]:
    """Delete an account and its scores; its former contacts (to rescore) and counts."""
    rows = load_accounts(conn, [account_id], lock=True)
    if account_id not in rows:
        raise ApiProblem(404, f"no account {account_id!r}")
    members = members_of(conn, rows.values())[account_id]
    counts = {}
    for table in (
        T.account_scores,
        T.account_score_history,
        T.account_trigger_state,
        T.accounts,
    ):
        col = table.c.id if table is T.accounts else table.c.account_id
        counts[table.name] = conn.execute(sa.delete(table).where(col == account_id)).rowcount
    forget(conn, account=account_id)
    return members, counts


@dataclass(frozen=True)
class Filters:
    """What an account list keeps: a stage, a grade, a minimum total, a search text."""

    stage: str | None = None
    grade: str | None = None
    min_total: float | None = None
    q: str | None = None


SORTS = {
    "total": S.total,
    "id": A.id,
    "grade": S.grade,
    "stage": S.stage,
    "contacts": S.contacts,
    "updated_at": A.updated_at,
}


def list_accounts(
    conn: sa.Connection,
    model: str | None,
    f: Filters,
    sort: str = "total",
    order: str = "desc",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """A page of accounts with their score under ``model`` (None: no score), and how
    many match in all."""
    query = sa.select(T.accounts, T.account_scores).select_from(
        T.accounts.outerjoin(T.account_scores, sa.and_(S.account_id == A.id, S.model_name == model))
    )
    if f.stage is not None:
        query = query.where(S.stage == f.stage)
    if f.grade is not None:
        query = query.where(S.grade == f.grade)
    if f.min_total is not None:
        query = query.where(S.total >= f.min_total)
    if f.q:
        like = f"%{f.q.lower()}%"
        query = query.where(
            sa.or_(
                sa.func.lower(A.id).like(like),
                A.domain.like(like),
                sa.func.lower(sa.cast(A.properties, sa.Text)).like(like),
            )
        )
    count = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    key = SORTS[sort].desc() if order == "desc" else SORTS[sort].asc()
    rows = conn.execute(query.order_by(key.nulls_last(), A.id).limit(limit).offset(offset)).all()
    counts = member_counts(conn, rows)
    items = []
    for r in rows:
        item = {**account_out(r), "contacts": counts[r.id], "score": None}
        if r.model_name is not None:
            item["score"] = score_out(r, breakdown=False)
        items.append(item)
    return items, count


def member_counts(conn: sa.Connection, rows: Sequence[Any]) -> dict[str, int]:
    """How many contacts each account has (linked explicitly or by domain)."""
    C = T.contacts.c
    ids = [r.id for r in rows]
    out = dict.fromkeys(ids, 0)
    if not ids:
        return out
    q = sa.select(C.account_ref, sa.func.count()).where(C.account_ref.in_(ids))
    for aid, n in conn.execute(q.group_by(C.account_ref)):
        out[aid] += n
    domains = {r.domain: r.id for r in rows if r.domain}
    if domains:
        q = sa.select(C.email_domain, sa.func.count()).where(
            C.account_ref.is_(None), C.email_domain.in_(sorted(domains))
        )
        for domain, n in conn.execute(q.group_by(C.email_domain)):
            out[domains[domain]] += n
    return out


def score_out(row: Any, *, breakdown: bool) -> dict[str, Any]:
    out = {
        "model": row.model_name,
        "version": row.version,
        "total": row.total,
        "grade": row.grade,
        "stage": row.stage,
        "excluded": row.excluded,
        "groups": row.groups,
        "contacts": row.contacts,
        "scored_at": row.scored_at,
    }
    if breakdown:
        out["breakdown"] = row.breakdown
    return out


def account_out(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "domain": row.domain,
        "properties": row.properties,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def contributions(breakdown: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Points each contact gave the account's roll-ups, from a stored breakdown."""
    out: dict[str, float] = {}
    for hit in breakdown or ():
        for c in hit.get("contributions") or ():
            out[c["contact_id"]] = out.get(c["contact_id"], 0.0) + c["points"]
    return out


def account_contacts(
    conn: sa.Connection,
    account_id: str,
    model: str | None,
    *,
    limit: int,
    offset: int,
    pubs: Sequence[Any] = (),
) -> tuple[list[dict[str, Any]], int]:
    """The account's contacts with their score under ``model`` and what they gave the
    account's roll-ups (``pubs``, the published models, name them all): the biggest
    contributors first, then by total and id."""
    rows = load_accounts(conn, [account_id])
    if account_id not in rows:
        raise ApiProblem(404, f"no account {account_id!r}")
    ids = members_of(conn, rows.values())[account_id]
    given: dict[str, float] = {}
    scores: dict[str, Any] = {}
    if model is not None:
        stored = conn.execute(
            sa.select(T.account_scores).where(S.account_id == account_id, S.model_name == model)
        ).first()
        given = contributions(full_breakdown(conn, pubs, stored)) if stored is not None else {}
        for start in range(0, len(ids), 500):
            q = sa.select(T.scores).where(
                T.scores.c.model_name == model, T.scores.c.contact_id.in_(ids[start : start + 500])
            )
            scores.update({r.contact_id: r for r in conn.execute(q)})

    def order(cid: str):
        s = scores.get(cid)
        return (-given.get(cid, 0.0), -(s.total if s is not None else float("-inf")), cid)

    ordered = sorted(ids, key=order)
    page = ordered[offset : offset + limit]
    people = contact_rows(conn, page)
    items = []
    for cid in page:
        c, s = people[cid], scores.get(cid)
        items.append(
            {
                "id": cid,
                "email": c.email,
                "properties": c.properties,
                "linked_by": "account_id" if c.account_ref else "domain",
                "contribution": given.get(cid, 0.0),
                "score": None
                if s is None
                else {
                    "model": s.model_name,
                    "total": s.total,
                    "grade": s.grade,
                    "stage": s.stage,
                    "excluded": s.excluded,
                    "groups": s.groups,
                },
            }
        )
    return items, len(ids)


def account_of_contact(conn: sa.Connection, contact_row: Any) -> str | None:
    return links(conn, [contact_row])[contact_row.id]

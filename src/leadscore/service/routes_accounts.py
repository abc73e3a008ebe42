"""Accounts (companies): write them, list them by score, their page, their history."""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query, Response

from ..store import tables as T
from . import account_ops as ops
from .auth import Principal
from .core import Service
from .deps import require, service
from .problems import ApiProblem
from .published import live_names
from .rollups import full_breakdown
from .routes_contacts import history_item
from .schemas import AccountBatch, AccountIn, AccountPut, Finite, Page

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])
AccountId = Path(min_length=1, max_length=200, pattern=r"^[^\s/]+$")
A, S, H = T.accounts.c, T.account_scores.c, T.account_score_history.c


def _account_model(svc: Service, conn, model: str | None) -> str | None:
    """The model whose account scores to show: the one named, else the first published
    that scores accounts (None when none does)."""
    pubs = svc.published(conn)
    scoring = [p.name for p in pubs if p.model.account is not None]
    if model is None:
        return scoring[0] if scoring else None
    if model not in scoring:
        names = ", ".join(scoring) or "none"
        if model in {p.name for p in pubs}:
            raise ApiProblem(404, f"model {model!r} scores no accounts; models that do: {names}")
        raise ApiProblem(
            404, f"no published model {model!r} scores accounts; those that do: {names}"
        )
    return model


@router.put("/{account_id}", summary="Create or update the account with this id")
def put_account(
    body: AccountPut,
    account_id: str = AccountId,
    svc: Service = Depends(service),
    who: Principal = Depends(require("write")),
) -> dict[str, Any]:
    item = AccountIn(id=account_id, **body.model_dump(exclude_unset=True))
    return svc.upsert_accounts([item], who.actor)[0]


@router.post("/batch", summary="Create or update many accounts in one transaction")
def batch_accounts(
    body: AccountBatch, svc: Service = Depends(service), who: Principal = Depends(require("write"))
) -> dict[str, Any]:
    if len(body.accounts) > svc.settings.max_batch:
        raise ApiProblem(
            413, f"{len(body.accounts)} accounts in one batch; at most {svc.settings.max_batch}"
        )
    ids = [a.id for a in body.accounts]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise ApiProblem(422, f"account ids given twice: {', '.join(twice[:5])}", kind="validation")
    return {"results": svc.upsert_accounts(body.accounts, who.actor)}


@router.get("", summary="List accounts with their score under one model")
def list_accounts(
    model: str | None = Query(None, description="model name (default: the first scoring accounts)"),
    sort: Literal["total", "id", "grade", "stage", "contacts", "updated_at"] = "total",
    order: Literal["asc", "desc"] = "desc",
    stage: str | None = None,
    grade: str | None = None,
    min_total: Finite | None = None,
    q: str | None = Query(None, max_length=200, description="search id, domain and properties"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=10_000_000),
    svc: Service = Depends(service),
    _: Principal = Depends(require("read")),
) -> Page:
    with svc.store.read() as conn:
        model = _account_model(svc, conn, model)
        found = ops.Filters(stage=stage, grade=grade, min_total=min_total, q=q)
        items, count = ops.list_accounts(conn, model, found, sort, order, limit, offset)
    return Page(items=items, total=count, limit=limit, offset=offset)


@router.get("/{account_id}", summary="An account with its scores and breakdowns")
def get_account(
    account_id: str = AccountId,
    svc: Service = Depends(service),
    _: Principal = Depends(require("read")),
) -> dict[str, Any]:
    with svc.store.read() as conn:
        row = conn.execute(sa.select(T.accounts).where(A.id == account_id)).first()
        if row is None:
            raise ApiProblem(404, f"no account {account_id!r}")
        scores = conn.execute(
            sa.select(T.account_scores)
            .where(S.account_id == account_id, S.model_name.in_(live_names()))
            .order_by(S.model_name)
        ).all()
        counts = ops.member_counts(conn, [row])
        pubs = svc.published(conn)
        shown = [
            {**ops.score_out(s, breakdown=False), "breakdown": full_breakdown(conn, pubs, s)}
            for s in scores
        ]
    return {**ops.account_out(row), "contacts": counts[account_id], "scores": shown}


@router.get(
    "/{account_id}/contacts",
    summary="The account's contacts, with their scores and what they gave the account",
)
def get_account_contacts(
    account_id: str = AccountId,
    model: str | None = Query(None, description="model name (default: the first scoring accounts)"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=10_000_000),
    svc: Service = Depends(service),
    _: Principal = Depends(require("read")),
) -> Page:
    with svc.store.read() as conn:
        if conn.execute(sa.select(A.id).where(A.id == account_id)).first() is None:
            raise ApiProblem(404, f"no account {account_id!r}")
        model = _account_model(svc, conn, model)
        items, total = ops.account_contacts(
            conn, account_id, model, limit=limit, offset=offset, pubs=svc.published(conn)
        )
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/{account_id}/history", summary="Every account score change: old → new, why, when")
def get_account_history(
    account_id: str = AccountId,
    model: str | None = None,
    limit: int = Query(200, ge=1, le=5000),
    offset: int = Query(0, ge=0, le=10_000_000),
    svc: Service = Depends(service),
    _: Principal = Depends(require("read")),
) -> Page:
    with svc.store.read() as conn:
        if conn.execute(sa.select(A.id).where(A.id == account_id)).first() is None:
            raise ApiProblem(404, f"no account {account_id!r}")
        query = sa.select(T.account_score_history).where(H.account_id == account_id)
        if model:
            query = query.where(H.model_name == model)
        total = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
        rows = conn.execute(query.order_by(H.id).limit(limit).offset(offset)).all()
    return Page(items=[history_item(r) for r in rows], total=total, limit=limit, offset=offset)


@router.delete("/{account_id}", status_code=204, summary="Delete an account and its scores")
def delete_account(
    account_id: str = AccountId,
    svc: Service = Depends(service),
    who: Principal = Depends(require("write")),
) -> Response:
    svc.delete_account(account_id, who.actor)
    return Response(status_code=204)

"""Triggers and their deliveries, API keys, the audit log, the time sweep, health."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query, Request, Response

from ..store import tables as T
from .auth import Principal, create_key
from .core import Service, audit
from .deps import require, service
from .problems import ApiProblem
from .schemas import KeyIn, Page

router = APIRouter(prefix="/v1", tags=["admin"])
MAX_ROW_ID = 2**31 - 1  # ids are INTEGER columns: a larger one is no row, not a store error
health_router = APIRouter(tags=["health"])
D = T.deliveries.c


@health_router.get("/health", summary="Liveness and database check (no key needed)")
def health(svc: Service = Depends(service)) -> dict[str, Any]:
    with svc.store.read() as conn:
        conn.execute(sa.text("SELECT 1"))
    return {"status": "ok", "database": svc.store.dialect}


@router.get("/triggers", tags=["triggers"], summary="Triggers of the published models")
def list_triggers(
    svc: Service = Depends(service), _: Principal = Depends(require("read"))
) -> dict[str, Any]:
    with svc.store.read() as conn:
        pubs = svc.published(conn)
        counts = {
            (r.model_name, r.trigger, r.status): r.n
            for r in conn.execute(
                sa.select(D.model_name, D.trigger, D.status, sa.func.count().label("n")).group_by(
                    D.model_name, D.trigger, D.status
                )
            )
        }
    items = []
    for pub in pubs:
        for trig in pub.model.triggers:
            items.append(
                {
                    "model": pub.name,
                    "version": pub.version,
                    "name": trig.name,
                    "on": trig.on.describe(),
                    "hysteresis": pub.hysteresis(trig.name, svc.settings.trigger_hysteresis),
                    "actions": [a.model_dump() for a in trig.actions],
                    "deliveries": {
                        s: counts.get((pub.name, trig.name, s), 0)
                        for s in ("pending", "delivered", "dead", "dropped")
                    },
                }
            )
    return {"items": items}


REASONS = frozenset(
    [
        "timeout",
        "refused",
        "tls",
        "dns",
        "blocked",
        "unreachable",
        "network",
        "http_3xx",
        "http_4xx",
        "http_5xx",
        "smtp",
        "config",
        "auth",
        "crm",
        "error",
        "unpublished",
    ]
)


def _error(text: str | None) -> tuple[str | None, str | None, int | None]:
    """The stored error as (message, reason, HTTP status); text not written in the
    classified form (rows from older versions) is withheld: it may echo a receiver."""
    if not text:
        return None, None, None
    reason = text.split(":", 1)[0]
    if reason not in REASONS:
        return "error: the delivery failed (details withheld)", "error", None
    found = re.search(r"HTTP (\d{3})", text) if reason.startswith("http_") else None
    return text, reason, int(found.group(1)) if found else None


def _delivery(r: Any) -> dict[str, Any]:
    message, reason, status = _error(r.last_error)
    return {
        "id": r.id,
        "key": r.key,
        "model": r.model_name,
        "trigger": r.trigger,
        "contact_id": r.contact_id,
        "account_id": r.account_id,
        "crossing": r.crossing,
        "action": r.action_index,
        "kind": r.kind,
        "target": r.target,
        "status": r.status,
        "attempts": r.attempts,
        "next_attempt_at": r.next_attempt_at,
        "last_error": message,
        "last_reason": reason,
        "last_status": status,
        "created_at": r.created_at,
        "delivered_at": r.delivered_at,
    }


@router.get("/deliveries", tags=["triggers"], summary="Trigger deliveries with their status")
def list_deliveries(
    status: Literal["pending", "delivered", "dead", "dropped"] | None = None,
    contact_id: str | None = Query(None, max_length=200),
    account_id: str | None = Query(None, max_length=200),
    trigger: str | None = Query(None, max_length=200),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=10_000_000),
    svc: Service = Depends(service),
    _: Principal = Depends(require("read")),
) -> Page:
    query = sa.select(T.deliveries)
    if status:
        query = query.where(D.status == status)
    if contact_id:
        query = query.where(D.contact_id == contact_id)
    if account_id:
        query = query.where(D.account_id == account_id)
    if trigger:
        query = query.where(D.trigger == trigger)
    with svc.store.read() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
        rows = conn.execute(query.order_by(D.id).limit(limit).offset(offset)).all()
    return Page(items=[_delivery(r) for r in rows], total=total, limit=limit, offset=offset)


@router.post(
    "/deliveries/{delivery_id}/retry", tags=["triggers"], summary="Send a dead delivery again"
)
def retry_delivery(
    request: Request,
    delivery_id: int = Path(ge=1, le=MAX_ROW_ID),
    svc: Service = Depends(service),
    who: Principal = Depends(require("admin")),
) -> dict[str, Any]:
    now = datetime.now(UTC)
    with svc.store.write() as conn:
        row = conn.execute(sa.select(T.deliveries).where(D.id == delivery_id)).first()
        if row is None:
            raise ApiProblem(404, f"no delivery {delivery_id}")
        if row.status != "dead":
            raise ApiProblem(
                409,
                f"delivery {delivery_id} is {row.status}; only dead ones are retried by hand",
                kind="conflict",
            )
        conn.execute(
            sa.update(T.deliveries)
            .where(D.id == delivery_id)
            .values(status="pending", attempts=0, next_attempt_at=now)
        )
        audit(conn, who.actor, "delivery.retry", f"delivery:{delivery_id}", at=now)
        row = conn.execute(sa.select(T.deliveries).where(D.id == delivery_id)).first()
    svc.notify_outbox()
    return _delivery(row)


@router.post(
    "/keys", status_code=201, tags=["keys"], summary="Create an API key (the token is shown once)"
)
def new_key(
    body: KeyIn,
    request: Request,
    svc: Service = Depends(service),
    who: Principal = Depends(require("admin")),
) -> dict[str, Any]:
    with svc.store.write() as conn:
        key_id, token = create_key(conn, body.name, body.scope)
        audit(conn, who.actor, "key.create", f"key:{key_id}", {"scope": body.scope})
    return {"id": key_id, "name": body.name, "scope": body.scope, "token": token}


@router.get("/keys", tags=["keys"], summary="API keys (never their tokens)")
def list_keys(
    svc: Service = Depends(service), _: Principal = Depends(require("admin"))
) -> dict[str, Any]:
    K = T.api_keys.c
    with svc.store.read() as conn:
        rows = conn.execute(sa.select(T.api_keys).order_by(K.id)).all()
    return {
        "items": [
            {
                "id": r.id,
                "name": r.name,
                "scope": r.scope,
                "prefix": r.prefix,
                "created_at": r.created_at,
                "revoked_at": r.revoked_at,
            }
            for r in rows
        ]
    }


@router.delete("/keys/{key_id}", status_code=204, tags=["keys"], summary="Revoke an API key")
def revoke_key(
    request: Request,
    key_id: int = Path(ge=1, le=MAX_ROW_ID),
    svc: Service = Depends(service),
    who: Principal = Depends(require("admin")),
) -> Response:
    K = T.api_keys.c
    with svc.store.write() as conn:
        got = conn.execute(
            sa.update(T.api_keys)
            .where(K.id == key_id, K.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        ).rowcount
        if not got:
            raise ApiProblem(404, f"no active key {key_id}")
        audit(conn, who.actor, "key.revoke", f"key:{key_id}")
    request.app.state.key_cache.clear()
    return Response(status_code=204)


@router.get("/audit", tags=["admin"], summary="The audit log, newest first")
def list_audit(
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=10_000_000),
    svc: Service = Depends(service),
    _: Principal = Depends(require("admin")),
) -> Page:
    A = T.audit_log.c
    with svc.store.read() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(T.audit_log)).scalar_one()
        rows = conn.execute(
            sa.select(T.audit_log).order_by(A.id.desc()).limit(limit).offset(offset)
        ).all()
    return Page(
        items=[
            {
                "id": r.id,
                "at": r.at,
                "actor": r.actor,
                "action": r.action,
                "target": r.target,
                "detail": r.detail,
            }
            for r in rows
        ],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.post("/sweep", tags=["admin"], summary="Rescore time-dependent scores now")
def sweep(
    svc: Service = Depends(service), _: Principal = Depends(require("admin"))
) -> dict[str, Any]:
    return {"rescored": svc.sweep()}

"""Event ingest: one or a batch; the contacts' scores are updated before the answer.

A ``track`` key is public (it sits in web pages), so its answer says only that the
events were received: never a contact id, a duplicate or a score.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header

from .auth import Principal
from .core import Service
from .deps import require, service
from .problems import ApiProblem
from .schemas import EventBatch, EventIn

router = APIRouter(prefix="/v1/events", tags=["events"])


@router.post("", status_code=202, summary="Record one event and rescore its contact")
def post_event(
    body: EventIn,
    svc: Service = Depends(service),
    idempotency_key: str | None = Header(None, max_length=200),
    who: Principal = Depends(require("track")),
) -> dict[str, Any]:
    if idempotency_key and body.idempotency_key and idempotency_key != body.idempotency_key:
        raise ApiProblem(
            422,
            "the Idempotency-Key header and the body's idempotency_key differ; send one of them",
            kind="validation",
        )
    if idempotency_key and not body.idempotency_key:
        body = body.model_copy(update={"idempotency_key": idempotency_key})
    result = svc.ingest([body], who.actor)[0]
    if who.scope == "track":
        return {"status": "received"}
    return result


@router.post("/batch", status_code=202, summary="Record up to max_batch events in one transaction")
def post_events(
    body: EventBatch, svc: Service = Depends(service), who: Principal = Depends(require("track"))
) -> dict[str, Any]:
    results = svc.ingest(body.events, who.actor)
    if who.scope == "track":
        return {"received": len(results)}
    return {
        "accepted": sum(1 for r in results if r["status"] == "accepted"),
        "duplicates": sum(1 for r in results if r["status"] == "duplicate"),
        "results": results,
    }

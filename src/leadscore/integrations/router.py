"""The HTTP face of the integrations: one APIRouter the service mounts with one line.

Routes:

* ``POST /hooks/{source}``: a configured source's webhook (SendGrid, Mailgun,
  forms). 200 with counts; 400 malformed, 401 unsigned or bad signature, 404
  unknown source, 413 too big, 415 wrong content type, 422 unmappable, 503
  source misconfigured (missing secret). Nothing is stored from a refused
  payload: a value that cannot be stored (NUL in text, NaN or infinite
  numbers, nesting beyond ``values.MAX_DEPTH``) refuses the whole delivery (422).
* ``GET /t.js``: the tracking script. ``POST /t``: one tracking hit (202).
* ``GET /integrations/sync-log``: the latest CRM writes (protected by the
  dependencies given in ``protect``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from .config import IntegrationsConfig
from .crm.synclog import SyncLog
from .events import LeadEvent, LeadSink
from .inbound import HookRejected, parse_hook
from .inbound.base import check_storable
from .tracking import InMemoryVisitorStore, Tracker, VisitorStore, script

PROBLEM = "application/problem+json"
Listener = Callable[[Sequence[LeadEvent], Sequence[dict[str, Any]]], None]
TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    404: "Not found",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    503: "Service unavailable",
}

_TEXT = {"type": "string", "maxLength": 2000}
_ID = {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$"}
HIT = {  # the body the router reads itself, described for the OpenAPI document
    "required": True,
    "description": "one hit as JSON; sent as text/plain by t.js (no CORS preflight)",
    "content": {
        media: {
            "schema": {
                "type": "object",
                "required": ["t", "v", "id"],
                "properties": {
                    "t": {"type": "string", "enum": ["page_view", "form_submit"]},
                    "v": _ID,
                    "id": _ID,
                    "u": _TEXT,
                    "r": _TEXT,
                    "ti": _TEXT,
                    "f": _TEXT,
                    "e": {"type": "string", "maxLength": 320},
                    "consent": {"type": "boolean"},
                },
            }
        }
        for media in ("application/json", "text/plain")
    },
}
HOOK_BODY = {
    "required": True,
    "description": "the platform's payload, as it sends it (signed where configured)",
    "content": {
        "application/json": {"schema": {}},
        "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
    },
}


def problem(status: int, detail: str, kind: str, instance: str) -> JSONResponse:
    body = {
        "type": f"https://leadscore.dev/problems/{kind}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HookRejected(413, f"the body is over {limit} bytes", kind="too-large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HookRejected(413, f"the body is over {limit} bytes", kind="too-large")
        chunks.append(chunk)
    return b"".join(chunks)


def build_router(
    config: IntegrationsConfig,
    sink: LeadSink,
    *,
    visitors: VisitorStore | None = None,
    sync_log: SyncLog | None = None,
    on_scores: Listener | None = None,
    protect: Sequence[Any] = (),
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> APIRouter:
    """The integrations router. ``sink`` stores events and contacts; ``on_scores``
    hears every ingest's results (e.g. a :class:`~.crm.forward.CrmForwarder`)."""
    router = APIRouter(tags=["integrations"])
    log = sync_log or SyncLog()

    def ingest(events: Sequence[LeadEvent]) -> list[dict[str, Any]]:
        if not events:
            return []
        results = sink.ingest(events)
        if on_scores is not None:
            on_scores(events, results)
        return results

    # The tracker ingests through the same path, so its score changes are heard too.
    tracker = Tracker(
        config.tracking, visitors or InMemoryVisitorStore(), _Forwarding(sink, ingest), now=now
    )

    @router.post(
        "/hooks/{source}",
        summary="Receive a configured platform's webhook",
        openapi_extra={"requestBody": HOOK_BODY},
    )
    async def hook(source: str, request: Request) -> Response:
        where = request.url.path
        spec = config.hooks.get(source)
        if spec is None:
            known = ", ".join(sorted(config.hooks)) or "none"
            return problem(
                404,
                f"no hook source {source!r} in the integrations config (configured: {known})",
                "unknown-source",
                where,
            )
        try:
            body = await _body(request, config.max_body_bytes)
            headers = {k.lower(): v for k, v in request.headers.items()}
            result = parse_hook(source, spec, body, headers, now=now())
            check_storable(result, source)

            def store() -> list[dict[str, Any]]:
                if result.contacts:
                    sink.upsert_contacts(result.contacts)
                return ingest(result.events)

            # Storing and scoring block (the store, user regexes): never on the event loop.
            results = await run_in_threadpool(store)
        except HookRejected as exc:
            return problem(exc.status, exc.detail, exc.kind, where)
        return JSONResponse(
            {
                "accepted": sum(1 for r in results if r.get("status") == "accepted"),
                "duplicates": sum(1 for r in results if r.get("status") == "duplicate"),
                "ignored": result.ignored,
            }
        )

    @router.get("/t.js", summary="The first-party tracking script", include_in_schema=False)
    def tracking_script() -> Response:
        return Response(
            script(),
            media_type="application/javascript",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    @router.post(
        "/t",
        status_code=202,
        summary="Collect one tracking hit",
        openapi_extra={"requestBody": HIT},
    )
    async def collect(request: Request) -> Response:
        where = request.url.path
        headers = {k.lower(): v for k, v in request.headers.items()}
        cors = {}
        origin = headers.get("origin")
        if origin and origin in config.tracking.allowed_origins:
            cors = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
        if tracker.opted_out(headers):
            return JSONResponse({"status": "ignored"}, status_code=202, headers=cors)
        try:
            raw = await _body(request, 16_384)
            try:
                hit = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):
                raise HookRejected(
                    400,
                    "tracking: the body is not JSON (or is nested too deeply)",
                    kind="malformed",
                ) from None
            outcome = await run_in_threadpool(tracker.collect, hit, headers)
        except HookRejected as exc:
            return problem(exc.status, exc.detail, exc.kind, where)
        # A public endpoint says only what happened, never a contact or a score.
        return JSONResponse({"status": outcome["status"]}, status_code=202, headers=cors)

    @router.get(
        "/integrations/sync-log",
        summary="The latest CRM writes, newest first",
        dependencies=[Depends(d) if callable(d) else d for d in protect],
    )
    def sync_log_route(
        system: str | None = Query(None, description="hubspot or pipedrive"),
        status: str | None = Query(None, description="written or failed"),
        contact_id: str | None = Query(None),
        limit: int = Query(100, ge=1, le=1000),
    ) -> dict[str, Any]:
        return {
            "items": log.entries(system=system, status=status, contact_id=contact_id, limit=limit),
            "counts": log.counts(),
        }

    return router


class _Forwarding:
    """The sink as the tracker sees it: ingest goes through the router's listener."""

    def __init__(self, sink: LeadSink, ingest: Callable[[Sequence[LeadEvent]], list]):
        self._sink, self._ingest = sink, ingest

    def ingest(self, events: Sequence[LeadEvent]) -> list[dict[str, Any]]:
        return self._ingest(events)

    def upsert_contacts(self, contacts):  # pragma: no cover - trivial
        return self._sink.upsert_contacts(contacts)

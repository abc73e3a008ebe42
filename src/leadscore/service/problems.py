"""One error shape for every route: ``application/problem+json`` (RFC 9457).

``{"type", "title", "status", "detail", "instance"}`` plus, where it helps,
``errors`` (request fields that failed validation, each with its location) or
``problems`` (model file problems with line and column). No stack trace ever
leaves the server: unexpected errors answer a plain 500 problem and are logged.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import DataError, LeadscoreError, ModelError, UsageError

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://leadscore.dev/problems/"
log = logging.getLogger("leadscore.service")

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    500: "Internal error",
}


class ApiProblem(Exception):
    """Raise from a route to answer a problem: status, what was wrong, extra members."""

    def __init__(self, status: int, detail: str, *, kind: str | None = None, **extra: Any):
        self.status, self.detail, self.kind, self.extra = status, detail, kind, extra
        super().__init__(detail)


def problem(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": TYPE_BASE + (kind or TITLES.get(status, "error").lower().replace(" ", "-")),
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": instance,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiProblem)
    async def _api(request: Request, exc: ApiProblem) -> JSONResponse:
        return problem(
            exc.status, exc.detail, kind=exc.kind, instance=request.url.path, **exc.extra
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "")
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no route {request.method} {request.url.path}; see /docs for the API"
        if exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
        return problem(
            exc.status_code,
            detail,
            instance=request.url.path,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "location": _loc(e.get("loc", ())),
                "message": e.get("msg", ""),
                "type": e.get("type", ""),
            }
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"location": "", "message": "invalid request"}
        return problem(
            422,
            f"{first['location']}: {first['message']}"
            + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""),
            kind="validation",
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(ModelError)
    async def _model(request: Request, exc: ModelError) -> JSONResponse:
        return problem(
            422,
            f"the model has {len(exc.problems)} problem"
            f"{'s' if len(exc.problems) != 1 else ''}: {exc.problems[0]}",
            kind="invalid-model",
            instance=request.url.path,
            problems=[p.to_dict() for p in exc.problems],
        )

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        return problem(422, str(exc), kind="invalid-data", instance=request.url.path)

    @app.exception_handler(UsageError)
    async def _usage(request: Request, exc: UsageError) -> JSONResponse:
        return problem(400, str(exc), instance=request.url.path)

    @app.exception_handler(LeadscoreError)
    async def _ours(request: Request, exc: LeadscoreError) -> JSONResponse:
        return problem(400, str(exc), instance=request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(
            500,
            "an unexpected error happened; it has been logged on the server",
            instance=request.url.path,
        )


class BodyLimit:
    """ASGI middleware: refuse bodies above ``limit`` bytes with a 413 problem.

    A declared Content-Length above the limit is refused before reading; a body
    without one (chunked) is read up to the limit and replayed to the app. The paths in
    ``own_limit`` (an upload streamed to a file, under a limit of its own) pass through.
    """

    def __init__(self, app: Any, limit: int, own_limit: tuple[str, ...] = ()):
        self.app, self.limit, self.own_limit = app, limit, own_limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path") in self.own_limit:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        too_big = problem(
            413,
            f"the request body is larger than {self.limit} bytes; send smaller batches",
            instance=scope.get("path"),
        )
        if length is not None:
            if length.isdigit() and int(length) > self.limit:
                await too_big(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        chunks, seen = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body = message.get("body", b"")
            seen += len(body)
            if seen > self.limit:
                await too_big(scope, receive, send)
                return
            chunks.append(body)
            if not message.get("more_body"):
                break
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

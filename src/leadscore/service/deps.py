"""Request dependencies: the service object and API-key authentication."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from ..values import BadValue, check_text
from .auth import Principal, authenticate
from .core import Service
from .problems import ApiProblem

bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer ls_…")
header_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="X-API-Key: ls_…")
CACHE_S = 5.0


class KeyCache:
    """Recently checked tokens for a few seconds (a revoked key stops within CACHE_S)."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> Principal | None:
        with self._lock:
            hit = self._items.get(token)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        return None

    def put(self, token: str, who: Principal) -> None:
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[token] = (time.monotonic() + CACHE_S, who)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def storable_params(request: Request) -> None:
    """Refuse a path or query parameter (or the stored Idempotency-Key header) that the
    stores cannot hold or compare (NUL in text): the one check every route shares,
    besides the body's (see ``schemas.Strict``)."""
    params = [("path", k, v) for k, v in request.path_params.items()]
    params += [("query", k, v) for k, v in request.query_params.multi_items()]
    if "idempotency-key" in request.headers:  # the one header that is stored
        params.append(("header", "idempotency-key", request.headers["idempotency-key"]))
    for where, name, value in params:
        try:
            check_text(str(value), f"{where}.{name}")
        except BadValue as exc:
            raise ApiProblem(
                422,
                str(exc),
                kind="validation",
                errors=[
                    {"location": exc.where, "message": exc.message, "type": "unstorable_value"}
                ],
            ) from None


def service(request: Request) -> Service:
    return request.app.state.service


def require(scope: str) -> Callable[..., Principal]:
    def dependency(
        request: Request,
        cred: HTTPAuthorizationCredentials | None = Depends(bearer),
        key: str | None = Depends(header_key),
    ) -> Principal:
        token = (cred.credentials if cred else None) or key
        if not token:
            raise ApiProblem(
                401,
                "this route needs an API key: send 'Authorization: Bearer "
                "<key>' or 'X-API-Key: <key>' (create one with `leadscore keys "
                "create`)",
                kind="unauthorized",
            )
        cache: KeyCache = request.app.state.key_cache
        who = cache.get(token)
        if who is None:
            with request.app.state.service.store.read() as conn:
                who = authenticate(conn, token)
            if who is None:
                raise ApiProblem(401, "the API key is unknown or revoked", kind="unauthorized")
            cache.put(token, who)
        if not who.allows(scope):
            raise ApiProblem(
                403,
                f"the key {who.name!r} has scope {who.scope!r}; this route "
                f"needs {'an event-sending' if scope == 'track' else repr(scope)} "
                "key",
                kind="forbidden",
            )
        return who

    return dependency

"""The FastAPI application: routes, error shape, body limit, background workers."""

from __future__ import annotations

import importlib
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI

from .. import __version__
from ..actions.outbox import OutboxWorker
from ..enrich import Enricher
from . import docs_ui, problems
from .core import Service
from .deps import KeyCache, storable_params
from .routes_accounts import router as accounts_router
from .routes_admin import health_router
from .routes_admin import router as admin_router
from .routes_contacts import router as contacts_router
from .routes_enrich import router as enrich_router
from .routes_events import router as events_router
from .routes_models import router as models_router
from .settings import Settings, load_settings

DESCRIPTION = """Real-time lead scoring with models as code.

Every route but `/health` needs an API key (`Authorization: Bearer ls_…` or
`X-API-Key`). Errors are `application/problem+json`. An accepted event has
updated its contact's scores before the answer is sent.
"""


class Sweeper:
    """Rescores time-dependent scores every ``sweep_interval`` seconds."""

    def __init__(self, svc: Service):
        self.svc = svc
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.svc.settings.sweep_interval <= 0:
            return
        self._thread = threading.Thread(target=self._loop, name="leadscore-sweep", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.svc.settings.sweep_interval):
            try:
                self.svc.sweep()
            except Exception:
                import logging

                logging.getLogger("leadscore.sweep").exception("sweep failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


# The web app is part of every service (create_app installs it); extensions are the
# optional parts installed after it, once each.
EXTENSION_PACKAGES = ("leadscore.integrations",)


def default_extensions() -> list[Callable[[FastAPI], None]]:
    """``install(app)`` of each optional part that serves routes next to the API and the
    web app (today the integrations: hooks, tracking, CRM sync)."""
    found = []
    for name in EXTENSION_PACKAGES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        install = getattr(module, "install", None)
        if callable(install):
            found.append(install)
    return found


def create_app(
    settings: Settings | None = None,
    *,
    service: Service | None = None,
    workers: bool = True,
    extensions: Sequence[Callable[[FastAPI], None]] = (),
    enrichers: Sequence[Enricher] = (),
) -> FastAPI:
    """Build the app. ``workers=False`` leaves the outbox and the sweep to the caller;
    each extension's ``install(app)`` adds its routes after the API's (see
    :func:`default_extensions`, which ``leadscore serve`` passes); ``enrichers`` are the
    outside enrichment services run after each contact upsert (none by default)."""
    settings = settings or (service.settings if service else load_settings())
    svc = service or Service(settings, enrichers=enrichers)
    worker = OutboxWorker(svc.store, settings)
    sweeper = Sweeper(svc)
    svc.on_outbox.append(worker.wake)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if workers:
            worker.start()
            sweeper.start()
        try:
            yield
        finally:
            worker.stop()
            sweeper.stop()

    app = FastAPI(
        title="leadscore",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(storable_params)],
        docs_url=None,  # served by docs_ui, from the package rather than a CDN
        redoc_url=None,
        responses={
            code: {"description": problems.TITLES[code], "content": {problems.MEDIA_TYPE: {}}}
            for code in (400, 401, 403, 404, 413, 422)
        },
    )
    app.state.service = svc
    app.state.outbox = worker
    app.state.sweeper = sweeper
    app.state.key_cache = KeyCache()
    problems.install(app)
    routers = (
        health_router,
        contacts_router,
        accounts_router,
        enrich_router,
        events_router,
        models_router,
    )
    for router in (*routers, admin_router):
        app.include_router(router)
    docs_ui.install(app)
    from ..web import install as install_web  # the web app's pages at /, same service

    install_web(app)
    for install in extensions:
        install(app)
    # crm actions go through the integrations' CRM connectors when they are installed
    worker.crm_delivery = (getattr(app.state, "integrations", None) or {}).get("crm_delivery")
    # the web app's import streams its upload to a file under max_import_bytes
    app.add_middleware(
        problems.BodyLimit, limit=settings.max_body_bytes, own_limit=("/import/upload",)
    )
    return app


def app_factory() -> Any:  # for `uvicorn --factory leadscore.service.app:app_factory`
    return create_app()

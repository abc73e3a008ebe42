"""Mounting the web app on the service's FastAPI app: every page's router, the error
pages, the sign-in throttle and the static files, once each."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from . import (
    account_view,
    archive,
    backtest,
    builder,
    contact,
    editor,
    importer,
    reference,
    routes,
    saved_views,
    throttle,
)
from .base import HERE, install_handlers


def install(app: FastAPI) -> None:
    """Add the pages and the static files to the service's app (``app.state.service``)."""
    install_handlers(app)
    svc = app.state.service
    app.state.imports = importer.Imports()
    app.state.login_throttle = throttle.Throttle(
        svc.store, throttle.LoginLimits.from_settings(svc.settings)
    )
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="web-static")
    pages = (
        routes,
        saved_views,
        contact,
        account_view,
        editor,
        builder,
        reference,
        archive,
        backtest,
        importer,
    )
    for page in pages:
        app.include_router(page.router)

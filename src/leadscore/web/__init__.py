"""The web app: sign-in, leads, contacts, the model editor, backtests, the dashboard.

Server-rendered pages (Jinja2) with htmx for the live parts; no build step.
Served by ``leadscore serve`` at ``/`` next to the API, calling the same
service functions the API routes call. :func:`install` adds it to the app.
"""

from __future__ import annotations

from typing import Any


def install(app: Any) -> None:
    """Add the pages and the static files to the service's FastAPI app."""
    from .app import install as _install

    _install(app)

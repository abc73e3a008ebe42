"""What every page shares: the signed-in user, CSRF checks, rendering, page errors."""

from __future__ import annotations

import hmac
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import sqlalchemy as sa
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from ..service.core import Service
from ..service.problems import ApiProblem
from . import users

HERE = Path(__file__).resolve().parent
COOKIE = "leadscore_session"
LOGIN_COOKIE = "leadscore_login"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
DEFAULT_STAGE_COLOURS = {"SQL": "#15803d", "MQL": "#b45309", "lead": "#475569"}
EXCLUDED_COLOUR = "#b91c1c"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

templates = Jinja2Templates(directory=str(HERE / "templates"))


def points(value: Any) -> str:
    """A score as people read it: whole numbers bare, others to one decimal ("37.5"), never
    "-0"; the exact value stays in the API, the exports and the cell's title."""
    if value is None:
        return "–"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return str(number)
    rounded = round(number, 1)
    if rounded == 0:
        return "0"
    return f"{rounded:.0f}" if rounded == int(rounded) else f"{rounded:.1f}"


def signed(value: Any) -> str:
    """Points added or taken, rounded as :func:`points`: "+10", "−20" (a real minus), "0"."""
    text = points(value)
    if text in ("0", "–"):
        return text
    return "−" + text[1:] if text.startswith("-") else "+" + text


def moment(ts: datetime | None, now: datetime | None = None) -> str:
    """A time as people read it (UTC): "today 14:30", "yesterday 09:05", "3 Mar 14:30",
    "3 Mar 2025"; the exact time goes in a title or a ``<time datetime>``."""
    if ts is None:
        return "never"
    now = now or datetime.now(UTC)
    ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    days = (now.astimezone(UTC).date() - ts.date()).days
    if days == 0:
        return f"today {ts:%H:%M}"
    if days == 1:
        return f"yesterday {ts:%H:%M}"
    if ts.year == now.year:
        return f"{ts.day} {ts:%b %H:%M}"
    return f"{ts.day} {ts:%b %Y}"


templates.env.filters["points"] = points
templates.env.filters["signed"] = signed
templates.env.filters["moment"] = moment


def stage_colours(conn: sa.Connection) -> dict[str, str]:
    """Each stage's colour on the pages: the defaults, with the ones chosen in settings."""
    saved = users.get_setting(conn, "stage_colours", {})
    return {**DEFAULT_STAGE_COLOURS, **(saved if isinstance(saved, dict) else {})}


def first_model_first(conn: sa.Connection, pubs: Sequence[Any]) -> list[Any]:
    """The published models with the default model chosen in settings first (the one the
    leads list and the contact page show first), the others in their order."""
    chosen = users.get_setting(conn, "default_model", None)
    return sorted(pubs, key=lambda p: p.name != chosen)


class Redirect(Exception):
    def __init__(self, location: str):
        self.location = location


class PageError(Exception):
    """Show an error page (or fragment) with a status and a message saying what to do."""

    def __init__(self, status: int, message: str):
        self.status, self.message = status, message
        super().__init__(message)


@dataclass
class Page:
    request: Request
    svc: Service
    user: users.User
    csrf: str

    @property
    def htmx(self) -> bool:
        return self.request.headers.get("hx-request") == "true"

    def require(self, scope: str, what: str) -> None:
        if not self.user.can(scope):
            need = {v: k for k, v in users.ROLES.items()}[scope]
            raise PageError(
                403,
                f"{what} needs the {need} role; you are signed in as {self.user.role}. "
                "Ask an admin (`leadscore users set-role`).",
            )

    def render(self, template: str, code: int = 200, **context: Any) -> HTMLResponse:
        return render(self.request, template, code, page=self, user=self.user, **context)


def render(request: Request, template: str, code: int = 200, **context: Any) -> HTMLResponse:
    response = templates.TemplateResponse(request, template, context, status_code=code)
    response.headers.update(SECURITY_HEADERS)
    return response


def cookie_args(request: Request) -> dict[str, Any]:
    return {
        "httponly": True,
        "samesite": "lax",
        "secure": request.url.scheme == "https",
        "path": "/",
    }


def service(request: Request) -> Service:
    return request.app.state.service


def current(request: Request) -> Page:
    """Dependency of every signed-in page: the user, or a redirect to the sign-in page."""
    svc = service(request)
    cookie = request.cookies.get(COOKIE)
    found = None
    if cookie:
        key = getattr(request.app.state, "web_secret", None)
        if key is None:
            with svc.store.read() as conn:
                key = users.stored_secret(conn)
            if key is None:  # the first sign-in makes it
                with svc.store.write() as conn:
                    key = users.secret(conn)
            request.app.state.web_secret = key
        with svc.store.read() as conn:
            found = users.session_user(conn, cookie, key)
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise Redirect(f"/login?next={quote(target)}")
    return Page(request, svc, found[0], found[1])


async def read_form(request: Request) -> dict[str, str]:
    body = (await request.body()).decode("utf-8", "replace")
    return {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}


async def form(page: Page) -> dict[str, str]:
    """The posted form, after checking the session's CSRF token (field or htmx header)."""
    data = await read_form(page.request)
    sent = data.pop(CSRF_FIELD, None) or page.request.headers.get(CSRF_HEADER) or ""
    if not hmac.compare_digest(sent.encode(), page.csrf.encode()):
        raise PageError(
            403,
            "the form's security token is missing or out of date; reload the page and try again",
        )
    return data


def install_handlers(app: Any) -> None:
    @app.exception_handler(Redirect)
    async def _redirect(request: Request, exc: Redirect) -> Response:
        if request.headers.get("hx-request") == "true":
            return Response(status_code=204, headers={"HX-Redirect": exc.location})
        return RedirectResponse(exc.location, status_code=303)

    @app.exception_handler(PageError)
    async def _page_error(request: Request, exc: PageError) -> HTMLResponse:
        name = "_error.html" if request.headers.get("hx-request") == "true" else "error.html"
        return render(request, name, exc.status, status=exc.status, message=exc.message)


def problem_message(exc: ApiProblem) -> str:
    return exc.detail

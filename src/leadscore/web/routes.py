"""Sign-in, the leads list, the dashboard and settings."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from ..service.core import Service, audit
from ..service.matrix import cell_counts
from ..service.published import Published
from . import leadexport, leadlist, queries, saved_views, tags, throttle, users
from .base import (
    COOKIE,
    EXCLUDED_COLOUR,
    LOGIN_COOKIE,
    SECURITY_HEADERS,
    Page,
    PageError,
    cookie_args,
    current,
    first_model_first,
    form,
    read_form,
    render,
    service,
    stage_colours,
)
from .charts import bars

router = APIRouter(include_in_schema=False)


def choose_model(page: Page, conn: sa.Connection, name: str | None) -> Published | None:
    """The model asked for, else the default model chosen in settings, else the first."""
    pubs = first_model_first(conn, page.svc.published(conn))
    if not pubs:
        return None
    return next((p for p in pubs if p.name == name), pubs[0])


def model_stages(pub: Published) -> list[str]:
    """The model's stages in funnel order (each once), then its default and CRM stages."""
    stages = list(dict.fromkeys(t.stage for t in pub.model.thresholds))
    for extra in (pub.model.default_stage, *pub.model.lifecycle.stages):
        if extra and extra not in stages:
            stages.append(extra)
    return stages


def _safe_next(target: str | None) -> str:
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


# ---------------------------------------------------------------- sign-in
@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", csrf=token, next=_safe_next(next), error=None)
    response.set_cookie(LOGIN_COOKIE, token, max_age=3600, **cookie_args(request))
    return response


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    data = await read_form(request)
    svc = service(request)
    sent, expected = data.get("csrf", ""), request.cookies.get(LOGIN_COOKIE, "")
    target = _safe_next(data.get("next"))
    if not expected or not secrets.compare_digest(sent.encode(), expected.encode()):
        raise PageError(
            403,
            "the sign-in form's security token is missing or out of date; open the sign-in "
            "page again and retry",
        )
    email = data.get("email", "")
    host = request.client.host if request.client else None
    # The password hash takes a tenth of a second: off the event loop.
    outcome = await run_in_threadpool(
        _sign_in, svc, request.app.state.login_throttle, email, data.get("password", ""), host
    )
    if isinstance(outcome, throttle.Refused):
        where = "for this account" if outcome.kind == throttle.USER else "from your address"
        response = render(
            request,
            "login.html",
            429,
            csrf=expected,
            next=target,
            error=f"Too many failed sign-ins {where}: try again in {outcome.retry_after} s.",
            email=email,
        )
        response.headers["Retry-After"] = str(outcome.retry_after)
        return response
    if outcome is None:
        return render(
            request,
            "login.html",
            401,
            csrf=expected,
            next=target,
            error="Wrong e-mail or password (or the account is disabled).",
            email=email,
        )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, outcome, max_age=users.SESSION_DAYS * 86400, **cookie_args(request))
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


def _sign_in(
    svc: Service, gate: throttle.Throttle, email: str, password: str, host: str | None
) -> str | throttle.Refused | None:
    """The session cookie of a right password, a refusal while backing off, or None."""
    ticket = gate.reserve(email, host)
    if isinstance(ticket, throttle.Refused):
        return ticket  # the password is not even looked at
    with svc.store.read() as conn:
        user = users.authenticate(conn, email, password)
    gate.settle(ticket, user is not None)
    with svc.store.write() as conn:
        if user is None:
            detail = {"locked_s": ticket.locked} if ticket.locked else None
            audit(conn, f"web:{host or '?'}", "user.login_failed", _printable(email), detail)
            return None
        cookie, _ = users.start_session(conn, user)
        audit(conn, user.actor, "user.login", user.email)
    return cookie


def _printable(email: str) -> str:
    """The typed e-mail as the audit log keeps it: short, no control characters."""
    return "".join(ch for ch in email.strip().lower()[:200] if ch.isprintable())


@router.post("/logout")
async def logout(page: Page = Depends(current)) -> Response:
    await form(page)
    with page.svc.store.write() as conn:
        users.end_session(conn, page.request.cookies.get(COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


# ---------------------------------------------------------------- leads
def _list_filters(page: Page) -> leadlist.LeadFilters:
    try:
        return leadlist.LeadFilters.from_query(page.request.query_params)
    except leadlist.ListError as exc:
        raise PageError(400, f"This leads list cannot be shown: {exc}.") from None


@router.get("/", response_class=HTMLResponse)
@router.get("/leads", response_class=HTMLResponse)
def leads(page: Page = Depends(current), model: str | None = None) -> Response:
    f = _list_filters(page)
    with page.svc.store.read() as conn:
        pub = choose_model(page, conn, model)
        colours = stage_colours(conn)
        if pub is None:
            return page.render("leads.html", pub=None, result=None, colours=colours)
        f.axes = pub.model.matrix_axes
        models = [p.name for p in first_model_first(conn, page.svc.published(conn))]
        stages = model_stages(pub)
        try:
            result = leadlist.leads(conn, pub.name, f, stages=stages)
        except leadlist.ListError as exc:
            raise PageError(400, f"This leads list cannot be shown: {exc}.") from None
        sources = queries.choices(conn, "source")
        countries = queries.choices(conn, "country")
        views = saved_views.context(conn, f)
        row_tags = tags.tags(conn, [pub], [r["contact_id"] for r in result.rows])
    grades = (
        [g for g, _ in pub.model.grades.letters] + [pub.model.grades.otherwise]
        if (pub.model.grades)
        else []
    )
    context: dict[str, Any] = {
        "pub": pub,
        "models": models,
        "result": result,
        "f": f,
        "stages": stages,
        "grades": grades,
        "axes": pub.model.matrix_axes,
        "sources": sources,
        "countries": countries,
        "activity": leadlist.ACTIVITY,
        "entered": leadlist.ENTERED,
        "columns": leadlist.COLUMNS,
        "colours": colours,
        "excluded_colour": EXCLUDED_COLOUR,
        "tags": row_tags,
        **views,
    }
    if page.htmx and page.request.headers.get("hx-target") == "leads-results":
        return page.render("_leads_table.html", **context)
    return page.render("leads.html", **context)


@router.get("/leads.csv")
def leads_csv(page: Page = Depends(current), model: str | None = None) -> Response:
    """The view as CSV (the filters and the order of the page, every row, exact values)."""
    f = _list_filters(page)
    with page.svc.store.read() as conn:
        pub = choose_model(page, conn, model)
        if pub is None:
            raise PageError(404, "No model is published yet, so there are no scores to export.")
        f.axes = pub.model.matrix_axes
        view = f.params(page="", after="", before="")
    with page.svc.store.write() as conn:  # who took a copy of which leads, and when
        audit(conn, page.user.actor, "web.leads_export", pub.name, view)
    stages = model_stages(pub)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", pub.name)  # a file name, whatever the model's
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return StreamingResponse(
        leadexport.export_csv(page.svc.store, pub.name, f, stages=stages),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="leads-{safe}-{stamp}.csv"',
            "Cache-Control": "no-store",
            **SECURITY_HEADERS,
        },
    )


# ---------------------------------------------------------------- dashboard
@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(page: Page = Depends(current), model: str | None = None) -> Response:
    with page.svc.store.read() as conn:
        pub = choose_model(page, conn, model)
        if pub is None:
            return page.render("dashboard.html", pub=None)
        order = [t.stage for t in pub.model.thresholds]
        mql = order[: order.index("MQL") + 1] if "MQL" in order else order[:1]
        weekly = queries.mqls_per_week(conn, pub.name, mql)
        moves = queries.model_moves(conn, pub.name, mql, weekly[0][0])
        dist = queries.score_distribution(conn, pub.name, pub.model.scale.min, pub.model.scale.max)
        triggers = queries.deliveries_by_trigger(conn)
        counts = dict(
            conn.execute(
                sa.select(queries.S.stage, sa.func.count())
                .where(queries.S.model_name == pub.name)
                .group_by(queries.S.stage)
            ).all()
        )
        axes = pub.model.matrix_axes
        cells = cell_counts(conn, pub.name, axes) if axes is not None else {}
    quadrants: dict[str, int] = {}
    if axes is not None:
        quadrants = {name: 0 for name in axes.quadrant_names()}
        for cell, _, _, name in axes.cells():
            quadrants[name] += cells.get(cell, 0)
    weekly_chart = bars(
        [f"{w:%d %b}" for w, _ in weekly],
        [n for _, n in weekly],
        title=f"Contacts entering {' or '.join(mql) or 'the top stage'} per week",
    )
    dist_chart = bars(
        [f"{b['low']:g}–{b['high']:g}" for b in dist],
        [b["n"] for b in dist],
        rates=[b["rate"] for b in dist],
        title="Contacts per score band, with the share that converted",
        colour="#64748b",
    )
    return page.render(
        "dashboard.html",
        pub=pub,
        mql=mql,
        weekly=weekly,
        weekly_chart=weekly_chart,
        moves=moves,
        dist=dist,
        dist_chart=dist_chart,
        triggers=triggers,
        counts=counts,
        axes=axes,
        cells=cells,
        quadrants=quadrants,
    )


# ---------------------------------------------------------------- settings
@router.get("/settings", response_class=HTMLResponse)
def settings_page(page: Page = Depends(current)) -> Response:
    page.require("admin", "Settings")
    with page.svc.store.read() as conn:
        colours = stage_colours(conn)
        people = users.list_users(conn)
        pubs = page.svc.published(conn)
        stages = sorted({s for p in pubs for s in model_stages(p)} | set(colours))
        chosen = users.get_setting(conn, "default_model", None)
    return page.render(
        "settings.html",
        colours=colours,
        users=people,
        stages=stages,
        roles=users.ROLES,
        models=[p.name for p in pubs],
        default_model=chosen,
        message=None,
    )


@router.post("/settings/default-model", response_class=HTMLResponse)
async def save_default_model(page: Page = Depends(current)) -> Response:
    page.require("admin", "Choosing the default model")
    data = await form(page)
    name = (data.get("model") or "").strip()
    with page.svc.store.write() as conn:
        names = [p.name for p in page.svc.published(conn)]
        if name and name not in names:
            raise PageError(
                422,
                f"no published model {name[:200]!r} to show first; published: "
                + (", ".join(names) or "none")
                + ". Choose one of them on the settings page.",
            )
        users.put_setting(conn, "default_model", name or None)
        audit(conn, page.user.actor, "web.default_model", name or None)
    return RedirectResponse("/settings", status_code=303)


@router.post("/settings/colours", response_class=HTMLResponse)
async def save_colours(page: Page = Depends(current)) -> Response:
    page.require("admin", "Changing stage colours")
    data = await form(page)
    chosen = {
        k[len("colour_") :]: v
        for k, v in data.items()
        if k.startswith("colour_") and len(v) == 7 and v.startswith("#")
    }
    with page.svc.store.write() as conn:
        users.put_setting(conn, "stage_colours", chosen)
        audit(conn, page.user.actor, "web.stage_colours", None, chosen)
    return RedirectResponse("/settings", status_code=303)


@router.post("/settings/users", response_class=HTMLResponse)
async def add_user(page: Page = Depends(current)) -> Response:
    page.require("admin", "Adding users")
    data = await form(page)
    from ..errors import UsageError

    try:
        with page.svc.store.write() as conn:
            user = users.create_user(
                conn,
                data.get("email", ""),
                data.get("password", ""),
                data.get("role", "viewer"),
                data.get("name", ""),
            )
            audit(conn, page.user.actor, "user.create", user.email, {"role": user.role})
    except UsageError as exc:
        raise PageError(422, str(exc)) from None
    return RedirectResponse("/settings", status_code=303)

"""Saved views of the leads list: the filters and order of a list, kept under a name.

A view is the list's query string (model, filters, sort and second key; never a page
or a cursor), checked as the list checks it before it is kept. Views are the team's:
everyone signed in sees them, opens them (``/leads/views/ID``) and exports them as CSV
(``/leads/views/ID.csv``, the list's own export); the user who saved a view, or an
admin, deletes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import QueryParams

from ..service.core import audit
from ..store import web_tables as W
from .base import Page, PageError, current, form
from .keyset import ListError
from .leadlist import LeadFilters

router = APIRouter(include_in_schema=False)
MAX_NAME = 100
V = W.saved_views.c


@dataclass(frozen=True)
class SavedView:
    id: int
    name: str
    query: dict[str, str]
    created_by: int

    @property
    def query_string(self) -> str:
        return urlencode(self.query)

    def deletable_by(self, page: Page) -> bool:
        return page.user.id == self.created_by or page.user.can("admin")


def list_views(conn: sa.Connection) -> list[SavedView]:
    rows = conn.execute(sa.select(W.saved_views).order_by(sa.func.lower(V.name), V.id))
    return [SavedView(r.id, r.name, dict(r.query), r.created_by) for r in rows]


def view_query(f: LeadFilters) -> dict[str, str]:
    """What a view keeps of a list: everything but the page and the cursors."""
    return f.params(page="", after="", before="")


def current_view(views: list[SavedView], f: LeadFilters) -> SavedView | None:
    """The saved view the list shows now, if it is one."""
    shown = view_query(f)
    return next((v for v in views if v.query == shown), None)


def _get(conn: sa.Connection, view_id: int) -> SavedView:
    r = conn.execute(sa.select(W.saved_views).where(V.id == view_id)).first()
    if r is None:
        raise PageError(404, f"There is no saved view {view_id}: it may have been deleted.")
    return SavedView(r.id, r.name, dict(r.query), r.created_by)


@router.post("/leads/views")
async def save_view(page: Page = Depends(current)) -> Response:
    data = await form(page)
    name = " ".join(data.get("name", "").split())
    if not name or len(name) > MAX_NAME:
        raise PageError(
            422,
            f"A saved view needs a name of 1 to {MAX_NAME} characters: type one and save again.",
        )
    try:
        f = LeadFilters.from_query(QueryParams(data.get("query", "")))
    except ListError as exc:
        raise PageError(422, f"This view cannot be saved: {exc}.") from None
    query = view_query(f)
    with page.svc.store.write() as conn:
        taken = conn.execute(sa.select(V.id).where(sa.func.lower(V.name) == name.lower())).first()
        if taken is not None:
            raise PageError(
                409,
                f"A view named {name!r} exists already: choose another name, or delete that "
                "view first.",
            )
        conn.execute(
            sa.insert(W.saved_views).values(
                name=name, query=query, created_by=page.user.id, created_at=datetime.now(UTC)
            )
        )
        audit(conn, page.user.actor, "web.view_save", name, query)
    return RedirectResponse("/leads?" + urlencode(query), status_code=303)


@router.get("/leads/views/{view_id:int}")
def open_view(view_id: int, page: Page = Depends(current)) -> Response:
    with page.svc.store.read() as conn:
        view = _get(conn, view_id)
    return RedirectResponse("/leads?" + view.query_string, status_code=303)


@router.get("/leads/views/{view_id:int}.csv")
def export_view(view_id: int, page: Page = Depends(current)) -> Response:
    """The view's rows as CSV: the leads list's export of the view's query string."""
    with page.svc.store.read() as conn:
        view = _get(conn, view_id)
    return RedirectResponse("/leads.csv?" + view.query_string, status_code=303)


@router.post("/leads/views/{view_id:int}/delete")
async def delete_view(view_id: int, page: Page = Depends(current)) -> Response:
    await form(page)
    with page.svc.store.write() as conn:
        view = _get(conn, view_id)
        if not view.deletable_by(page):
            raise PageError(
                403,
                f"The view {view.name!r} was saved by someone else: only they or an admin can "
                "delete it.",
            )
        conn.execute(sa.delete(W.saved_views).where(V.id == view_id))
        audit(conn, page.user.actor, "web.view_delete", view.name, view.query)
    return RedirectResponse("/leads", status_code=303)


def context(conn: sa.Connection, f: LeadFilters) -> dict[str, Any]:
    """What the leads list shows of the saved views."""
    views = list_views(conn)
    return {"views": views, "view": current_view(views, f), "view_query": view_query(f)}

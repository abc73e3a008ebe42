"""Unpublishing (archiving) a model from its page, once confirmed.

The same function as ``POST /v1/models/{name}/unpublish``
(:func:`leadscore.service.versions.unpublish`): the model stops scoring and leaves
the lists; its scores stay stored, hidden, until a version is published again.
"""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ..service import versions
from ..service.problems import ApiProblem
from ..store import tables as T
from .base import Page, PageError, current, form

router = APIRouter(include_in_schema=False)
MV = T.model_versions.c


def _published(page: Page, name: str) -> tuple[int, int, int]:
    """The published version of ``name``, how many contacts and accounts it scores;
    a page that says what to do when there is none."""
    with page.svc.store.read() as conn:
        version = conn.execute(
            sa.select(MV.version).where(MV.name == name, MV.status == "published")
        ).scalar()
        if version is None:
            known = conn.execute(sa.select(MV.version).where(MV.name == name)).first()
            if known is None:
                raise PageError(404, f"no model {name!r}; see the models page")
            raise PageError(
                409, f"model {name!r} has no published version: there is nothing to unpublish"
            )
        contacts, accounts = (
            conn.execute(
                sa.select(sa.func.count()).select_from(table).where(table.c.model_name == name)
            ).scalar_one()
            for table in (T.scores, T.account_scores)
        )
    return version, contacts, accounts


@router.get("/models/{name}/unpublish", response_class=HTMLResponse)
def confirm_unpublish(name: str, page: Page = Depends(current)) -> Response:
    page.require("admin", "Unpublishing a model")
    version, contacts, accounts = _published(page, name)
    return page.render(
        "unpublish.html", name=name, version=version, contacts=contacts, accounts=accounts
    )


@router.post("/models/{name}/unpublish", response_class=HTMLResponse)
async def unpublish(name: str, page: Page = Depends(current)) -> Response:
    """Unpublish, once confirmed on the page that says what it does."""
    page.require("admin", "Unpublishing a model")
    data = await form(page)
    if data.get("confirm") != "yes":  # not confirmed: say what happens and ask
        return RedirectResponse(f"/models/{name}/unpublish", status_code=303)
    try:
        done = await run_in_threadpool(versions.unpublish, page.svc, name, page.user.actor)
    except ApiProblem as exc:
        raise PageError(exc.status, exc.detail) from None
    return RedirectResponse(
        f"/models/{name}/versions/{done['version']}?unpublished=1", status_code=303
    )

"""The model editor: versions, YAML with live validation, test, impact, publish, diff, rollback.

Every action calls the same functions as the ``/v1/models`` API routes
(:mod:`leadscore.service.versions`); a draft changes no stored score until it
is published.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ..errors import ModelError
from ..model.conditions import OPERATORS
from ..service import versions
from ..service.core import utcnow
from ..service.problems import ApiProblem
from ..service.published import archived_names
from ..store import tables as T
from . import builder, reference
from .base import Page, PageError, current, form

router = APIRouter(include_in_schema=False)
MV = T.model_versions.c
STARTER = """name: my-model
scale: {min: 0, max: 100}
groups:
  fit:
    rules:
      - name: Business email
        when: {email_type: business}
        points: 20
thresholds:
  - stage: MQL
    when: {total: {gte: 50}}
default_stage: lead
"""


def _call(fn, *args: Any, **kw: Any) -> Any:
    try:
        return fn(*args, **kw)
    except ApiProblem as exc:
        raise PageError(exc.status, exc.detail) from None


def _text(data: dict[str, str]) -> str:
    """The posted YAML with the browser's CRLF line ends made LF again (as typed)."""
    return data.get("yaml", "").replace("\r\n", "\n")


def _versions(conn: sa.Connection, name: str) -> list[Any]:
    return conn.execute(
        sa.select(T.model_versions).where(MV.name == name).order_by(MV.version.desc())
    ).all()


@router.get("/models", response_class=HTMLResponse)
def models(page: Page = Depends(current)) -> Response:
    with page.svc.store.read() as conn:
        rows = conn.execute(sa.select(T.model_versions).order_by(MV.name, MV.version.desc())).all()
        gone = archived_names(conn)
    grouped: dict[str, list[Any]] = {}
    archived: dict[str, list[Any]] = {}  # unpublished models: listed apart, folded
    for r in rows:
        (archived if r.name in gone else grouped).setdefault(r.name, []).append(r)
    return page.render("models.html", grouped=grouped, archived=archived)


@router.get("/models/edit", response_class=HTMLResponse)
def edit(
    page: Page = Depends(current), name: str | None = None, version: int | None = None
) -> Response:
    text, base = STARTER, None
    if name:
        with page.svc.store.read() as conn:
            rows = _versions(conn, name)
            if not rows:
                raise PageError(404, f"no model {name!r}; see the models page")
            row = next((r for r in rows if r.version == version), None) if version else None
            row = row or next((r for r in rows if r.status == "published"), rows[0])
        text, base = row.yaml, row
    return _editor(page, 200, text=text, base=base, check=_check(page, text))


def _editor(page: Page, code: int, **context: Any) -> Response:
    """The editor page: the YAML, its checks, and the rule builder with the store's names."""
    catalog = builder.cached_catalog(page)
    words = {
        "keys": reference.CONSTRUCTS,
        "operators": OPERATORS,
        "ref": reference.PATH,
    }
    return page.render(
        "editor.html",
        code,
        catalog=catalog,
        words=words,
        ref=reference.PATH,
        constructs=reference.CONSTRUCTS,
        operators=list(builder.OPERATOR_LABELS.items()),
        op_help=OPERATORS,
        **context,
    )


def _check(page: Page, text: str) -> dict[str, Any]:
    """The model's problems, and warnings that include the names the model reads which
    no stored contact or event holds."""
    check = versions.validate(text, page.svc.settings, page.svc.vocabulary.get())
    return reference.with_sections(check)


@router.post("/models/validate", response_class=HTMLResponse)
async def validate(page: Page = Depends(current)) -> Response:
    data = await form(page)
    check = await run_in_threadpool(_check, page, _text(data))
    return page.render("_validated.html", check=check)


@router.post("/models/drafts", response_class=HTMLResponse)
async def save_draft(page: Page = Depends(current)) -> Response:
    """Save the text as a new draft; with problems nothing is saved, and the editor
    comes back with the text as typed, saying so."""
    page.require("admin", "Saving a model draft")
    data = await form(page)
    text = _text(data)
    check = await run_in_threadpool(_check, page, text)
    if not check["valid"]:
        return await run_in_threadpool(
            _editor, page, 422, text=text, base=None, check=check, unsaved=True
        )
    try:
        draft = await run_in_threadpool(versions.create_draft, page.svc, text, {}, page.user.actor)
    except ModelError as exc:  # e.g. a trained model the service cannot load
        check = {"valid": False, "problems": [p.to_dict() for p in exc.problems]}
        return await run_in_threadpool(
            _editor, page, 422, text=text, base=None, check=check, unsaved=True
        )
    except ApiProblem as exc:  # e.g. hysteresis for an unknown trigger
        return await run_in_threadpool(
            _editor, page, exc.status, text=text, base=None, check=check, unsaved=exc.detail
        )
    return RedirectResponse(f"/models/{draft['name']}/versions/{draft['version']}", status_code=303)


@router.get("/models/{name}/versions/{version}", response_class=HTMLResponse)
def version_page(name: str, version: int, page: Page = Depends(current)) -> Response:
    with page.svc.store.read() as conn:
        row = _call(versions.version_row, conn, name, version)
        rows = _versions(conn, name)
    published = next((r for r in rows if r.status == "published"), None)
    return page.render("version.html", row=row, rows=rows, published=published)


@router.post("/models/{name}/versions/{version}/test", response_class=HTMLResponse)
async def test(name: str, version: int, page: Page = Depends(current)) -> Response:
    data = await form(page)
    cid = data.get("contact_id", "").strip()
    if not cid:
        raise PageError(422, "type the id of a contact to test the version on")
    result = await run_in_threadpool(
        _call, versions.test_on_contact, page.svc, name, version, cid, None
    )
    return page.render("_test_result.html", result=result)


@router.get("/models/{name}/versions/{version}/impact", response_class=HTMLResponse)
def impact(name: str, version: int, page: Page = Depends(current)) -> Response:
    result = _call(versions.impact, page.svc, name, version)
    return page.render("_impact.html", result=result)


async def _confirm(page: Page, name: str, version: int, action: str, verb: str) -> Response:
    """What publishing ``version`` would change (nothing is written), and the button
    that posts to ``action``; the published version has nothing to confirm."""
    with page.svc.store.read() as conn:
        row = _call(versions.version_row, conn, name, version)
    if row.status == "published":
        return RedirectResponse(f"/models/{name}/versions/{version}", status_code=303)
    result = await run_in_threadpool(_call, versions.impact, page.svc, name, version)
    return page.render("publish.html", row=row, result=result, action=action, verb=verb)


@router.get("/models/{name}/versions/{version}/publish", response_class=HTMLResponse)
async def confirm_publish(name: str, version: int, page: Page = Depends(current)) -> Response:
    page.require("admin", "Publishing a model")
    action = f"/models/{name}/versions/{version}/publish"
    return await _confirm(page, name, version, action, "publish")


@router.post("/models/{name}/versions/{version}/publish", response_class=HTMLResponse)
async def publish(name: str, version: int, page: Page = Depends(current)) -> Response:
    """Publish, once confirmed on the page that shows the impact first."""
    page.require("admin", "Publishing a model")
    data = await form(page)
    if data.get("confirm") != "yes":  # not confirmed: show the impact and ask
        return RedirectResponse(f"/models/{name}/versions/{version}/publish", status_code=303)
    fire = data.get("fire_triggers") == "on"
    await run_in_threadpool(
        _call, versions.publish, page.svc, name, version, page.user.actor, fire_triggers=fire
    )
    return RedirectResponse(f"/models/{name}/versions/{version}?published=1", status_code=303)


def _version_asked(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise PageError(422, "choose the version to roll back to") from None


@router.get("/models/{name}/rollback", response_class=HTMLResponse)
async def confirm_rollback(
    name: str, page: Page = Depends(current), version: str | None = None
) -> Response:
    page.require("admin", "Rolling back a model")
    number = _version_asked(version)
    return await _confirm(page, name, number, f"/models/{name}/rollback", "roll back to")


@router.post("/models/{name}/rollback", response_class=HTMLResponse)
async def rollback(name: str, page: Page = Depends(current)) -> Response:
    """Publish an earlier published version again, once confirmed (the impact first)."""
    page.require("admin", "Rolling back a model")
    data = await form(page)
    version = _version_asked(data.get("version"))
    if data.get("confirm") != "yes":
        return RedirectResponse(f"/models/{name}/rollback?version={version}", status_code=303)
    fire = data.get("fire_triggers") == "on"
    await run_in_threadpool(
        _call, versions.rollback, page.svc, name, version, page.user.actor, fire_triggers=fire
    )
    return RedirectResponse(f"/models/{name}/versions/{version}?published=1", status_code=303)


@router.get("/models/{name}/diff", response_class=HTMLResponse)
def diff(
    name: str, page: Page = Depends(current), a: int | None = None, b: int | None = None
) -> Response:
    with page.svc.store.read() as conn:
        rows = _versions(conn, name)
    if not rows:
        raise PageError(404, f"no model {name!r}")
    numbers = [r.version for r in rows]
    b = b or numbers[0]
    a = a or next(
        (r.version for r in rows if r.status == "published" and r.version != b),
        numbers[1] if len(numbers) > 1 else b,
    )
    result = _call(versions.diff, page.svc, name, a, b)
    lines = []
    for line in result["unified"].splitlines():
        kind = (
            "add"
            if line.startswith("+") and not line.startswith("+++")
            else (
                "del"
                if line.startswith("-") and not line.startswith("---")
                else ("hunk" if line.startswith("@@") else "ctx")
            )
        )
        lines.append((kind, line))
    return page.render(
        "diff.html", result=result, lines=lines, numbers=numbers, a=a, b=b, name=name, now=utcnow()
    )

"""The accounts list (best first) and an account's page: its scores and the roll-ups'
contributions, its contacts with what each gave, its score over time, its history."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from ..service import account_ops as ops
from ..service.published import Published, live_names
from ..service.rollups import full_breakdown
from ..store import tables as T
from .base import EXCLUDED_COLOUR, Page, PageError, current, stage_colours
from .charts import score_over_time

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
CONTACT_ROWS = 50
HISTORY_ROWS = 15
H = T.account_score_history.c


def _scoring(page: Page, conn: sa.Connection, name: str | None) -> tuple[Published | None, list]:
    """The published model whose account scores to show (the one named, else the first
    that scores accounts), and every model that scores accounts."""
    pubs = [p for p in page.svc.published(conn) if p.model.account is not None]
    return next((p for p in pubs if p.name == name), pubs[0] if pubs else None), pubs


def _stages(pub: Published) -> list[str]:
    acc = pub.model.account
    stages = [t.stage for t in acc.thresholds]
    if acc.default_stage and acc.default_stage not in stages:
        stages.append(acc.default_stage)
    return stages


def _int(value: str | None, default: int = 0) -> int:
    try:
        return max(0, int(value or default))
    except ValueError:
        raise PageError(422, f"not a page offset: {value!r}; use a whole number") from None


@router.get("/accounts", response_class=HTMLResponse)
def accounts_page(page: Page = Depends(current), model: str | None = None) -> Response:
    q = page.request.query_params
    f = ops.Filters(
        stage=q.get("stage") or None, grade=q.get("grade") or None, q=q.get("q") or None
    )
    offset = _int(q.get("offset"))
    with page.svc.store.read() as conn:
        pub, pubs = _scoring(page, conn, model)
        colours = stage_colours(conn)
        items, total = ops.list_accounts(
            conn, pub.name if pub else None, f, limit=PAGE_SIZE, offset=offset
        )
    grades = []
    if pub is not None and pub.model.account.grades is not None:
        g = pub.model.account.grades
        grades = [letter for letter, _ in g.letters] + [g.otherwise]
    context: dict[str, Any] = {
        "pub": pub,
        "pubs": pubs,
        "items": items,
        "total": total,
        "offset": offset,
        "page_size": PAGE_SIZE,
        "f": f,
        "stages": _stages(pub) if pub else [],
        "grades": grades,
        "groups": list(pub.model.account.groups) if pub else [],
        "colours": colours,
        "excluded_colour": EXCLUDED_COLOUR,
    }
    if page.htmx and page.request.headers.get("hx-target") == "accounts-results":
        return page.render("_accounts_table.html", **context)
    return page.render("accounts.html", **context)


@router.get("/accounts/{account_id}", response_class=HTMLResponse)
def account_page(
    account_id: str, page: Page = Depends(current), model: str | None = None
) -> Response:
    offset = _int(page.request.query_params.get("offset"))
    with page.svc.store.read() as conn:
        row = conn.execute(sa.select(T.accounts).where(T.accounts.c.id == account_id)).first()
        if row is None:
            raise PageError(404, f"no account {account_id!r}; search for it on the accounts list")
        pub, pubs = _scoring(page, conn, model)
        scores = conn.execute(
            sa.select(T.account_scores)
            .where(
                T.account_scores.c.account_id == account_id,
                T.account_scores.c.model_name.in_(live_names()),
            )
            .order_by(T.account_scores.c.model_name)
        ).all()
        contacts, n_contacts = ops.account_contacts(
            conn,
            account_id,
            pub.name if pub else None,
            limit=CONTACT_ROWS,
            offset=offset,
            pubs=pubs,
        )
        history = conn.execute(
            sa.select(T.account_score_history)
            .where(H.account_id == account_id)
            .order_by(H.id.desc())
            .limit(HISTORY_ROWS)
        ).all()
        points = {}
        for s in scores:
            rows = conn.execute(
                sa.select(H.at, H.new_total)
                .where(H.account_id == account_id, H.model_name == s.model_name)
                .order_by(H.id)
            ).all()
            points[s.model_name] = [(r.at, r.new_total) for r in rows] + [(s.scored_at, s.total)]
        colours = stage_colours(conn)
        live = page.svc.published(conn)
        scores = [
            SimpleNamespace(**{**s._mapping, "breakdown": full_breakdown(conn, live, s)})
            for s in scores
        ]
    charts = {}
    for p in pubs:
        if p.name in points:
            acc = p.model.account
            lines = [
                (t.stage, float(t.when.value))
                for t in acc.thresholds
                if getattr(t.when, "field", None) == "total"
                and getattr(t.when, "op", None) in ("gte", "gt")
            ]
            charts[p.name] = score_over_time(
                points[p.name], [], low=acc.scale.min, high=acc.scale.max, thresholds=lines
            )
    props = dict(sorted((row.properties or {}).items()))
    return page.render(
        "account.html",
        account=row,
        name=props.get("name") or props.get("company") or row.id,
        props=props,
        scores=scores,
        charts=charts,
        pub=pub,
        contacts=contacts,
        n_contacts=n_contacts,
        offset=offset,
        page_size=CONTACT_ROWS,
        history=history,
        colours=colours,
        excluded_colour=EXCLUDED_COLOUR,
    )

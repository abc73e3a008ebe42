"""The contact page: profile, scores and breakdowns, score over time, adjustments."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ..enrich import PROPERTY_NAMES
from ..service.accounts import links
from ..service.core import utcnow
from ..service.problems import ApiProblem
from ..service.published import Published
from ..service.schemas import AdjustmentIn
from ..service.scoring import load_inputs, score_one
from ..store import tables as T
from .base import EXCLUDED_COLOUR, Page, PageError, current, form, stage_colours
from .charts import Marker, score_over_time

router = APIRouter(include_in_schema=False)
CHART_POINTS = 48
CHART_MIN_DAYS = 30
CHART_MAX_DAYS = 365
CHART_EVENT_POINTS = 120  # the latest events also get a point of their own on the line
HISTORY_ROWS = 15
PREDICTIVE_KEYS = ("predicted_score", "predicted_probability", "predicted_band")


def _series(
    pub: Published, contact: Any, events: list[Any], adjustments: list[dict], now: datetime
) -> list[tuple[datetime, float]]:
    """The total under ``pub`` at evenly spaced times and just after each event."""
    first = min([e.ts for e in events] + [a["created_at"] for a in adjustments] + [now])
    start = max(first - timedelta(days=2), now - timedelta(days=CHART_MAX_DAYS))
    start = min(start, now - timedelta(days=CHART_MIN_DAYS))
    step = (now - start) / CHART_POINTS
    times = {start + step * i for i in range(CHART_POINTS)} | {now}
    times |= {e.ts for e in events[-CHART_EVENT_POINTS:] if e.ts >= start}
    times |= {a["created_at"] for a in adjustments if a["created_at"] >= start}
    out = []
    for t in sorted(times):
        seen = [e for e in events if e.ts <= t]
        adj = [a for a in adjustments if a["created_at"] <= t]
        out.append((t, score_one(pub, contact, seen, adj, t, horizon=False).total))
    return out


def _thresholds(pub: Published) -> list[tuple[str, float]]:
    """Stages whose condition includes ``total >= N`` (drawn as dashed lines)."""
    out = []
    for t in pub.model.thresholds:
        preds = getattr(t.when, "items", None) or (t.when,)
        for p in preds:
            if (
                getattr(p, "field", None) == "total"
                and getattr(p, "op", None) in ("gte", "gt")
                and isinstance(p.value, int | float)
            ):
                out.append((t.stage, float(p.value)))
    return out


def _contact_view(page: Page, contact_id: str) -> dict[str, Any]:
    svc = page.svc
    now = utcnow()
    with svc.store.read() as conn:
        row = conn.execute(sa.select(T.contacts).where(T.contacts.c.id == contact_id)).first()
        if row is None:
            raise PageError(404, f"no contact {contact_id!r}; search for it on the leads list")
        scores = conn.execute(
            sa.select(T.scores)
            .where(T.scores.c.contact_id == contact_id)
            .order_by(T.scores.c.model_name)
        ).all()
        pubs = svc.published(conn)
        contacts, events, adjustments = load_inputs(conn, [contact_id])
        history = conn.execute(
            sa.select(T.score_history)
            .where(T.score_history.c.contact_id == contact_id)
            .order_by(T.score_history.c.id.desc())
            .limit(HISTORY_ROWS)
        ).all()
        colours = stage_colours(conn)
        account = links(conn, [row])[row.id]
    evs = events.get(contact_id, [])
    adjs = adjustments.get(contact_id, [])
    charts = {}
    for pub in pubs:
        mine = [a for a in adjs if a["model_name"] in (None, pub.name)]
        series = _series(pub, contacts[contact_id], evs, mine, now)
        markers = [Marker(e.ts, _event_label(e), e.type) for e in evs] + [
            Marker(
                a["created_at"], f"{a['points']:+g} by {a['author']}: {a['reason']}", "adjustment"
            )
            for a in mine
        ]
        charts[pub.name] = score_over_time(
            series,
            markers,
            low=pub.model.scale.min,
            high=pub.model.scale.max,
            thresholds=_thresholds(pub),
        )
    props = dict(sorted((row.properties or {}).items()))
    enriched = {k: v for k, v in props.items() if k in PROPERTY_NAMES}
    profile = {
        k: v
        for k, v in props.items()
        if k not in PROPERTY_NAMES and k not in PREDICTIVE_KEYS and k != "predicted_reasons"
    }
    predictive = None
    if any(k in props for k in PREDICTIVE_KEYS):
        predictive = {k: props.get(k) for k in PREDICTIVE_KEYS}
        predictive["reasons"] = props.get("predicted_reasons") or []
    recent = sorted(evs, key=lambda e: e.ts, reverse=True)[:12]
    return {
        "contact": row,
        "account_id": account,
        "profile": profile,
        "enriched": enriched,
        "scores": scores,
        "charts": charts,
        "adjustments": adjs,
        "history": history,
        "events": recent,
        "event_count": len(evs),
        "predictive": predictive,
        "colours": colours,
        "excluded_colour": EXCLUDED_COLOUR,
        "published": [p.name for p in pubs],
        "name": " ".join(str(props[k]) for k in ("first_name", "last_name") if props.get(k))
        or row.email
        or row.id,
    }


def _event_label(e: Any) -> str:
    attrs = e.attributes or {}
    detail = next(
        (str(attrs[k]) for k in ("url", "form_id", "asset_id", "email_id") if attrs.get(k)), ""
    )
    return f"{e.type} {detail}".strip()


@router.get("/contacts/{contact_id}", response_class=HTMLResponse)
def contact_page(contact_id: str, page: Page = Depends(current)) -> Response:
    return page.render("contact.html", **_contact_view(page, contact_id), error=None)


@router.post("/contacts/{contact_id}/adjustments", response_class=HTMLResponse)
async def adjust(contact_id: str, page: Page = Depends(current)) -> Response:
    page.require("write", "A manual adjustment")
    data = await form(page)
    # Rescoring blocks (the store, user regexes): in a worker thread, never on the event loop.
    return await run_in_threadpool(_adjusted, page, contact_id, data)


def _adjusted(page: Page, contact_id: str, data: dict[str, str]) -> Response:
    try:
        _adjust(page, contact_id, data)
    except PageError as exc:
        if not page.htmx or exc.status == 404:
            raise
        view = _contact_view(page, contact_id)  # the form stays, with the message above it
        return page.render("_contact_scores.html", exc.status, **view, error=exc.message)
    if page.htmx:
        return page.render("_contact_scores.html", **_contact_view(page, contact_id), error=None)
    return RedirectResponse(f"/contacts/{contact_id}", status_code=303)


def _adjust(page: Page, contact_id: str, data: dict[str, str]) -> None:
    try:
        points = float(data.get("points", "").strip())
    except ValueError:
        raise PageError(
            422, f"points must be a number such as 10 or -5, got {data.get('points', '')!r}"
        ) from None
    reason = data.get("reason", "").strip()
    if not reason:
        raise PageError(422, "give a reason for the adjustment: it is kept in the history")
    model = data.get("model") or None
    try:
        body = AdjustmentIn(points=points, reason=reason[:500], author=page.user.email, model=model)
        page.svc.adjust(contact_id, body, page.user.actor)
    except ApiProblem as exc:
        raise PageError(exc.status, exc.detail) from None
    except ValueError as exc:
        raise PageError(422, f"the adjustment is not valid: {exc}") from None

"""The contact page: profile, scores and breakdowns, score over time, adjustments."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ..engine import spine
from ..enrich import PROPERTIES, PROPERTY_NAMES
from ..service import stages
from ..service.accounts import links
from ..service.core import utcnow
from ..service.problems import ApiProblem
from ..service.published import Published, live_names
from ..service.schemas import AdjustmentIn
from ..service.scoring import load_inputs
from ..store import tables as T
from . import tags, timeline, users
from .base import (
    EXCLUDED_COLOUR,
    Page,
    PageError,
    current,
    first_model_first,
    form,
    moment,
    stage_colours,
)
from .charts import Marker, score_over_time

router = APIRouter(include_in_schema=False)
HISTORY_ROWS = 15
TIMELINE_ROWS = 30
PREDICTIVE_KEYS = ("predicted_score", "predicted_probability", "predicted_band")
# Words a property name is made of, spelled as people write them
WORDS = {"email": "e-mail", "id": "ID", "ip": "IP", "url": "URL", "utm": "UTM", "crm": "CRM"}


def label(name: str) -> str:
    """A property name as a label: "job_title" -> "Job title", "ip_country" -> "IP country"."""
    words = [WORDS.get(w.lower(), w) for w in str(name).replace("-", "_").split("_") if w]
    text = " ".join(words) or str(name)
    return text[0].upper() + text[1:]


def shown(value: Any) -> Any:
    """A profile value as people read it: an ISO time as "3 Mar 14:30"; others as they are."""
    if isinstance(value, str) and len(value) >= 16 and value[4:5] == "-" and "T" in value:
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return value
        return moment(when)
    return value


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


def _breakdown(score: Any, pub: Published | None) -> list[dict[str, Any]]:
    """The fired rules group by group, as ``leadscore explain`` prints them: each group's
    rules, its subtotal, and a line when the group's bounds or its mean changed the sum."""
    groups = (pub.model.groups if pub is not None else {}) or {}
    hits = [h for h in score.breakdown if h.get("fired")]
    out = []
    for name, value in (score.groups or {}).items():
        rows = [h for h in hits if h.get("group") == name]
        summed = sum(float(h.get("points") or 0) for h in rows)
        group = groups.get(name)
        note = None
        if group is not None and group.combine == "weighted_mean" and rows:
            note = "weighted mean of the rules' points"
        elif abs(summed - value) >= 0.05:
            if group is not None and group.max is not None and value >= group.max:
                note = f"held at the group's max {group.max:g}: the rules add {summed:.1f}"
            elif group is not None and group.min is not None and value <= group.min:
                note = f"held at the group's min {group.min:g}: the rules add {summed:.1f}"
            else:
                note = f"the rules add {summed:.1f}"
        out.append({"name": name, "rows": rows, "subtotal": value, "note": note})
    manual = [h for h in hits if h.get("kind") == "adjustment"]
    if manual:
        value = sum(float(h.get("points") or 0) for h in manual)
        out.append({"name": "manual", "rows": manual, "subtotal": value, "note": None})
    return out


def _scale_note(score: Any, pub: Published | None) -> str | None:
    """Why the total is not the groups added up: the scale, or an exclusion."""
    if pub is None:
        return None
    if score.excluded:
        return f"excluded: the total is the scale's floor {pub.model.scale.min:g}"
    try:
        raw = spine.raw_total(pub.model, score.groups) + (score.adjustment or 0)
    except KeyError:
        return None
    if abs(raw - score.total) < 0.05:
        return None
    bound = "max" if score.total >= pub.model.scale.max else "min"
    limit = getattr(pub.model.scale, bound)
    return f"held at the scale's {bound} {limit:g}: the groups add {raw:.1f}"


def _contact_view(page: Page, contact_id: str) -> dict[str, Any]:
    svc = page.svc
    now = utcnow()
    with svc.store.read() as conn:
        row = conn.execute(sa.select(T.contacts).where(T.contacts.c.id == contact_id)).first()
        if row is None:
            raise PageError(404, f"no contact {contact_id!r}; search for it on the leads list")
        scores = conn.execute(
            sa.select(T.scores)
            .where(T.scores.c.contact_id == contact_id, T.scores.c.model_name.in_(live_names()))
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
        pubs = first_model_first(conn, pubs)
        first = {p.name: i for i, p in enumerate(pubs)}
        scores = sorted(scores, key=lambda s: (first.get(s.model_name, len(first)), s.model_name))
        default_model = users.get_setting(conn, "default_model", None)
        found_tags = tags.tags(conn, pubs, [contact_id]).get(contact_id, [])
        entries = {
            m: f for (_, m), f in stages.load(conn, [contact_id], [p.name for p in pubs]).items()
        }
    by_model: dict[str, list[tags.Tag]] = {}
    for t in found_tags:
        by_model.setdefault(t.model, []).append(t)
    evs = events.get(contact_id, [])
    adjs = adjustments.get(contact_id, [])
    by_name = {p.name: p for p in pubs}
    charts, timelines = {}, {}
    for pub in pubs:
        mine = [a for a in adjs if a["model_name"] in (None, pub.name)]
        told = timeline.story(pub, contacts[contact_id], evs, mine, now, entries.get(pub.name))
        replayed = {e.at for e in told.entries if e.kind not in ("adjustment", "stage")}
        markers = [Marker(e.at, e.line, e.kind) for e in told.entries if e.kind != "stage"]
        markers += [
            Marker(e.ts, timeline.event_phrase(e), e.type) for e in evs if e.ts not in replayed
        ]
        charts[pub.name] = score_over_time(
            told.series,
            [m for m in markers if m.kind != "profile"],
            low=pub.model.scale.min,
            high=pub.model.scale.max,
            thresholds=_thresholds(pub),
        )
        timelines[pub.name] = list(reversed(told.entries))
    props = dict(sorted((row.properties or {}).items()))
    enriched = {k: v for k, v in props.items() if k in PROPERTY_NAMES}
    profile = {
        k: v
        for k, v in props.items()
        if k not in PROPERTY_NAMES
        and k not in PREDICTIVE_KEYS
        and k != "predicted_reasons"
        and not (k == "email" and v == row.email)  # shown once, from the contact
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
        "enriched_help": {p.name: p.help for p in PROPERTIES},
        "label": label,
        "shown": shown,
        "scores": scores,
        "breakdowns": {s.model_name: _breakdown(s, by_name.get(s.model_name)) for s in scores},
        "scale_notes": {s.model_name: _scale_note(s, by_name.get(s.model_name)) for s in scores},
        "charts": charts,
        "timelines": timelines,
        "timeline_rows": TIMELINE_ROWS,
        "adjustments": adjs,
        "history": history,
        "events": recent,
        "event_phrase": timeline.event_phrase,
        "event_count": len(evs),
        "predictive": predictive,
        "colours": colours,
        "excluded_colour": EXCLUDED_COLOUR,
        "published": [p.name for p in pubs],
        "default_model": default_model,
        "model_tags": {
            name: [t for t in found_tags if t.model == name]
            for name in {t.model for t in found_tags}
        },
        "entries": entries,
        "adjust_limit": svc.settings.max_adjustment_points,
        "typed": {},
        "name": " ".join(str(props[k]) for k in ("first_name", "last_name") if props.get(k))
        or row.email
        or row.id,
    }


@router.get("/contacts/{contact_id}", response_class=HTMLResponse)
def contact_page(contact_id: str, page: Page = Depends(current)) -> Response:
    if "@" in contact_id:  # /contacts/ada@example.com: the contact with that e-mail
        with page.svc.store.read() as conn:
            found = conn.execute(
                sa.select(T.contacts.c.id).where(
                    sa.func.lower(T.contacts.c.email) == contact_id.strip().lower()
                )
            ).scalar()
        if found is not None and found != contact_id:
            return RedirectResponse(f"/contacts/{quote(found, safe='')}", status_code=303)
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
        if exc.status == 404:
            raise
        # the form stays, with the message at it and what was typed still in it
        view = {**_contact_view(page, contact_id), "typed": data}
        name = "_contact_scores.html" if page.htmx else "contact.html"
        return page.render(name, exc.status, **view, error=exc.message)
    if page.htmx:
        return page.render("_contact_scores.html", **_contact_view(page, contact_id), error=None)
    return RedirectResponse(f"/contacts/{contact_id}", status_code=303)


def _adjust(page: Page, contact_id: str, data: dict[str, str]) -> None:
    typed = data.get("points", "").strip()
    limit = float(page.svc.settings.max_adjustment_points)
    try:
        points = float(typed.replace("−", "-").replace(",", "."))
    except ValueError:
        points = math.nan
    if not math.isfinite(points):
        raise PageError(422, f"points must be a number such as 10 or -5, got {typed!r}") from None
    if points == 0:
        raise PageError(422, "0 points changes nothing: give points such as 10 or -5")
    if abs(points) > limit:
        raise PageError(
            422,
            f"points must be between {-limit:g} and {limit:g}, got {points:g}; the "
            "max_adjustment_points setting sets the bound",
        )
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

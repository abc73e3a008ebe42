"""Contacts, their scores, history and manual adjustments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query, Response

from ..model.schema import ScoringModel
from ..store import tables as T
from . import stages
from .accounts import links, score_contact_at
from .auth import Principal
from .core import Service
from .deps import require, service
from .matrix import cell_condition, stored_cell
from .problems import ApiProblem
from .published import live_names
from .schemas import AdjustmentIn, ContactBatch, ContactIn, Finite, Instant, Page
from .scoring import load_inputs
from .writes import behaviour_entries

router = APIRouter(prefix="/v1/contacts", tags=["contacts"])
ContactId = Path(min_length=1, max_length=200, pattern=r"^[^\s/]+$")
C, S = T.contacts.c, T.scores.c


def _score(
    row: Any,
    *,
    breakdown: bool,
    entry: Any = None,
    models: Mapping[str, ScoringModel] | None = None,
) -> dict[str, Any]:
    """A stored score as the API shows it; with its matrix cell and quadrant when its
    model (among ``models``) declares a matrix, and with its recorded stage entry."""
    out = {
        "model": row.model_name,
        "version": row.version,
        "total": row.total,
        "grade": row.grade,
        "stage": row.stage,
        "excluded": row.excluded,
        "groups": row.groups,
        "adjustment": row.adjustment,
        "scored_at": row.scored_at,
    }
    model = (models or {}).get(row.model_name)
    if model is not None:
        out.update(stored_cell(model, row.groups))
    if breakdown:
        # the stage entry recorded under the model (service/stages.py): when, by whom
        out["stage_entered_at"] = None if entry is None else entry.entered_at
        out["stage_entered_by"] = None if entry is None else entry.source
        out["breakdown"] = row.breakdown
    return out


def _entries(conn: sa.Connection, contact_id: str, rows: list[Any]) -> dict[str, Any]:
    return {
        m: f for (_, m), f in stages.load(conn, [contact_id], [r.model_name for r in rows]).items()
    }


def _by_name(svc: Service, conn: sa.Connection) -> dict[str, ScoringModel]:
    return {p.name: p.model for p in svc.published(conn)}


def _cell_filters(model: ScoringModel, matrix: str | None, quadrant: str | None) -> list[Any]:
    """The list's matrix and quadrant filters, refused when the model has no such cell."""
    if not matrix and not quadrant:
        return []
    axes = model.matrix_axes
    if axes is None:
        raise ApiProblem(
            422,
            f"model {model.name!r} declares no matrix, so no contact has a matrix cell or "
            "quadrant; drop the matrix and quadrant filters, or add a matrix: section to "
            "the model",
        )
    cells = [c for c, _, _, _ in axes.cells()]
    if matrix and matrix not in cells:
        raise ApiProblem(
            422,
            f"matrix={matrix!r} is not a cell of model {model.name!r}; its cells are "
            + ", ".join(cells),
        )
    names = axes.quadrant_names()
    if quadrant and quadrant not in names:
        raise ApiProblem(
            422,
            f"quadrant={quadrant!r} is not a quadrant of model {model.name!r}; its "
            "quadrants are " + ", ".join(repr(n) for n in names),
        )
    return cell_condition(axes, matrix or "", quadrant or "")


@router.post("", status_code=200, summary="Create or update a contact (by id or e-mail)")
def upsert_contact(
    body: ContactIn, svc: Service = Depends(service), who: Principal = Depends(require("write"))
) -> dict[str, Any]:
    return svc.upsert_contacts([body], who.actor)[0]


@router.put("/{contact_id}", summary="Create or update the contact with this id")
def put_contact(
    body: ContactIn,
    contact_id: str = ContactId,
    svc: Service = Depends(service),
    who: Principal = Depends(require("write")),
) -> dict[str, Any]:
    if body.id is not None and body.id != contact_id:
        raise ApiProblem(
            422,
            f"the body's id {body.id!r} differs from the path's "
            f"{contact_id!r}; leave it out or make them equal",
            kind="validation",
        )
    return svc.upsert_contacts([body.model_copy(update={"id": contact_id})], who.actor)[0]


@router.post("/batch", summary="Create or update many contacts in one transaction")
def batch_contacts(
    body: ContactBatch, svc: Service = Depends(service), who: Principal = Depends(require("write"))
) -> dict[str, Any]:
    if len(body.contacts) > svc.settings.max_batch:
        raise ApiProblem(
            413, f"{len(body.contacts)} contacts in one batch; at most {svc.settings.max_batch}"
        )
    return {"results": svc.upsert_contacts(body.contacts, who.actor)}


@router.get("", summary="List contacts with their score under one model")
def list_contacts(
    model: str | None = Query(None, description="model name (default: the first published)"),
    sort: Literal["total", "id", "grade", "stage", "updated_at"] = "total",
    order: Literal["asc", "desc"] = "desc",
    stage: str | None = None,
    grade: str | None = None,
    excluded: bool | None = None,
    matrix: str | None = Query(
        None, max_length=40, description="matrix cell, e.g. A1 (models with a matrix)"
    ),
    quadrant: str | None = Query(
        None, max_length=100, description="matrix quadrant, by its name (models with a matrix)"
    ),
    min_total: Finite | None = None,
    max_total: Finite | None = None,
    q: str | None = Query(None, max_length=200, description="search id, e-mail and properties"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=10_000_000),
    svc: Service = Depends(service),
    _: Principal = Depends(require("read")),
) -> Page:
    with svc.store.read() as conn:
        models = _by_name(svc, conn)
        names = list(models)
        if model is None:
            model = names[0] if names else None
        elif model not in names:
            raise ApiProblem(
                404, f"no published model {model!r}; published: " + (", ".join(names) or "none")
            )
        query = sa.select(T.contacts, T.scores).select_from(
            T.contacts.outerjoin(T.scores, sa.and_(S.contact_id == C.id, S.model_name == model))
        )
        if stage is not None:
            query = query.where(S.stage == stage)
        if grade is not None:
            query = query.where(S.grade == grade)
        if excluded is not None:
            query = query.where(S.excluded == excluded)
        if model is not None:
            query = query.where(*_cell_filters(models[model], matrix, quadrant))
        if min_total is not None:
            query = query.where(S.total >= min_total)
        if max_total is not None:
            query = query.where(S.total <= max_total)
        if q:
            like = f"%{q.lower()}%"
            query = query.where(
                sa.or_(
                    sa.func.lower(C.id).like(like),
                    C.email.like(like),
                    sa.func.lower(sa.cast(C.properties, sa.Text)).like(like),
                )
            )
        count = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
        col = {
            "total": S.total,
            "id": C.id,
            "grade": S.grade,
            "stage": S.stage,
            "updated_at": C.updated_at,
        }[sort]
        col = col.desc() if order == "desc" else col.asc()
        rows = conn.execute(
            query.order_by(col.nulls_last(), C.id).limit(limit).offset(offset)
        ).all()
    items = []
    for r in rows:
        item = {
            "id": r.id,
            "email": r.email,
            "properties": r.properties,
            "updated_at": r.updated_at,
            "score": None,
        }
        if r.model_name is not None:
            item["score"] = _score(r, breakdown=False, models=models)
        items.append(item)
    return Page(items=items, total=count, limit=limit, offset=offset)


@router.get("/{contact_id}", summary="A contact with its scores and breakdowns")
def get_contact(
    contact_id: str = ContactId,
    svc: Service = Depends(service),
    _: Principal = Depends(require("read")),
) -> dict[str, Any]:
    with svc.store.read() as conn:
        row = svc._require_contact(conn, contact_id)
        scores = conn.execute(
            sa.select(T.scores)
            .where(S.contact_id == contact_id, S.model_name.in_(live_names()))
            .order_by(S.model_name)
        ).all()
        events = conn.execute(
            sa.select(sa.func.count())
            .select_from(T.events)
            .where(T.events.c.contact_id == contact_id)
        ).scalar_one()
        account = links(conn, [row])[row.id]
        entries = _entries(conn, contact_id, scores)
        models = _by_name(svc, conn)
    return {
        "id": row.id,
        "email": row.email,
        "properties": row.properties,
        "account_id": account,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "events": events,
        "scores": [
            _score(s, breakdown=True, entry=entries.get(s.model_name), models=models)
            for s in scores
        ],
    }


@router.delete("/{contact_id}", status_code=204, summary="Delete a contact and its data")
def delete_contact(
    contact_id: str = ContactId,
    erase: bool = Query(
        False, description="GDPR erase, as POST /v1/contacts/{id}/erase (admin key)"
    ),
    svc: Service = Depends(service),
    who: Principal = Depends(require("write")),
) -> Response:
    if erase and not who.allows("admin"):
        raise ApiProblem(
            403,
            f"the key {who.name!r} has scope {who.scope!r}; erasing a contact (erase=true) "
            "needs an 'admin' key; without erase=true the contact is deleted",
            kind="forbidden",
        )
    svc.delete_contact(contact_id, who.actor, erase=erase)
    return Response(status_code=204)


@router.post(
    "/{contact_id}/erase",
    status_code=204,
    summary="GDPR erase: the contact and every mention of it (store, tracking, CRM log)",
)
def erase_contact(
    contact_id: str = ContactId,
    svc: Service = Depends(service),
    who: Principal = Depends(require("admin")),
) -> Response:
    svc.delete_contact(contact_id, who.actor, erase=True)
    return Response(status_code=204)


@router.get("/{contact_id}/scores", summary="Current scores, or scores as of a past time")
def get_scores(
    contact_id: str = ContactId,
    as_of: Instant | None = Query(None, description="ISO 8601 time; default now"),
    svc: Service = Depends(service),
    _: Principal = Depends(require("read")),
) -> dict[str, Any]:
    with svc.store.read() as conn:
        svc._require_contact(conn, contact_id)
        if as_of is None:
            rows = conn.execute(
                sa.select(T.scores)
                .where(S.contact_id == contact_id, S.model_name.in_(live_names()))
                .order_by(S.model_name)
            ).all()
            entries = _entries(conn, contact_id, rows)
            models = _by_name(svc, conn)
            return {
                "contact_id": contact_id,
                "as_of": None,
                "scores": [
                    _score(r, breakdown=True, entry=entries.get(r.model_name), models=models)
                    for r in rows
                ],
            }
        inputs = load_inputs(conn, [contact_id], as_of=as_of)
        out = []
        for pub in svc.published(conn):
            adj = score_contact_at(conn, pub, contact_id, inputs, as_of)
            out.append(
                {
                    "model": pub.name,
                    "version": pub.version,
                    "total": adj.total,
                    "grade": adj.result.grade,
                    "stage": adj.stage,
                    "excluded": adj.result.excluded,
                    "groups": adj.result.groups,
                    "adjustment": adj.adjustment,
                    "scored_at": as_of,
                    **stored_cell(pub.model, adj.result.groups),
                    "breakdown": adj.breakdown,
                }
            )
    return {"contact_id": contact_id, "as_of": as_of, "scores": out}


@router.get("/{contact_id}/history", summary="Every score change: old → new, why, when")
def get_history(
    contact_id: str = ContactId,
    model: str | None = None,
    model_changes: bool = Query(
        True,
        description="false leaves out the rows a model's publish or roll back wrote "
        "(cause 'publish' or 'rollback'): only what the contact's own changes did",
    ),
    limit: int = Query(200, ge=1, le=5000),
    offset: int = Query(0, ge=0, le=10_000_000),
    svc: Service = Depends(service),
    _: Principal = Depends(require("read")),
) -> Page:
    H = T.score_history.c
    with svc.store.read() as conn:
        svc._require_contact(conn, contact_id)
        query = sa.select(T.score_history).where(H.contact_id == contact_id)
        if model:
            query = query.where(H.model_name == model)
        if not model_changes:
            query = query.where(behaviour_entries(T.score_history))
        total = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
        rows = conn.execute(query.order_by(H.id).limit(limit).offset(offset)).all()
    return Page(items=[history_item(r) for r in rows], total=total, limit=limit, offset=offset)


def history_item(r: Any) -> dict[str, Any]:
    """A score change (a contact's or an account's) as the API shows it."""
    return {
        "id": r.id,
        "model": r.model_name,
        "version": r.version,
        "at": r.at,
        "cause": r.cause,
        "old_total": r.old_total,
        "new_total": r.new_total,
        "old_stage": r.old_stage,
        "new_stage": r.new_stage,
        "old_grade": r.old_grade,
        "new_grade": r.new_grade,
        "detail": r.detail,
    }


@router.post(
    "/{contact_id}/adjustments",
    status_code=201,
    summary="Add or remove points by hand, with a reason",
)
def add_adjustment(
    body: AdjustmentIn,
    contact_id: str = ContactId,
    svc: Service = Depends(service),
    who: Principal = Depends(require("write")),
) -> dict[str, Any]:
    return svc.adjust(contact_id, body, who.actor)


@router.get("/{contact_id}/adjustments", summary="Manual adjustments of a contact")
def list_adjustments(
    contact_id: str = ContactId,
    svc: Service = Depends(service),
    _: Principal = Depends(require("read")),
) -> dict[str, Any]:
    A = T.adjustments.c
    with svc.store.read() as conn:
        svc._require_contact(conn, contact_id)
        rows = conn.execute(
            sa.select(T.adjustments).where(A.contact_id == contact_id).order_by(A.id)
        ).all()
    return {
        "items": [
            {
                "id": r.id,
                "model": r.model_name,
                "points": r.points,
                "reason": r.reason,
                "author": r.author,
                "created_at": r.created_at,
            }
            for r in rows
        ]
    }

"""Progressive profiling: the form fields worth asking a contact next."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query

from .auth import Principal
from .core import Service, utcnow
from .deps import require, service
from .predicted import engine_model
from .problems import ApiProblem
from .scoring import contact_record, load_inputs, to_events

router = APIRouter(prefix="/v1/contacts", tags=["contacts"])
MAX_FIELDS = 50  # candidate fields in one request


@router.get(
    "/{contact_id}/next-questions",
    summary="The unknown form fields whose answers could change the score most",
)
def get_next_questions(
    contact_id: str = Path(min_length=1, max_length=200, pattern=r"^[^\s/]+$"),
    fields: str = Query(
        min_length=1,
        max_length=4000,
        description="candidate form fields, comma-separated (e.g. job_title,phone,employees)",
    ),
    n: int = Query(3, ge=1, le=MAX_FIELDS, description="how many questions to return"),
    model: str | None = Query(None, description="one published model (default: every one)"),
    svc: Service = Depends(service),
    _: Principal = Depends(require("read")),
) -> dict[str, Any]:
    # imported here: the evaluate package loads numpy and DuckDB, which the API does not need
    from ..evaluate.profiling import next_questions

    wanted = [f.strip() for f in fields.split(",") if f.strip()]
    if not wanted:
        raise ApiProblem(
            422, "fields names no field; give them comma-separated: fields=job_title,phone"
        )
    if len(wanted) > MAX_FIELDS:
        raise ApiProblem(422, f"{len(wanted)} fields; at most {MAX_FIELDS} in one request")
    with svc.store.read() as conn:
        pubs = svc.published(conn)
        contacts, events, _adj = load_inputs(conn, [contact_id])
    if contact_id not in contacts:
        raise ApiProblem(404, f"no contact {contact_id!r}")
    if model is not None:
        pubs = [p for p in pubs if p.name == model]
        if not pubs:
            raise ApiProblem(404, f"no published model {model!r}")
    contact = contact_record(contacts[contact_id])
    evs = to_events(events.get(contact_id, []))
    now = utcnow()
    out = []
    for pub in pubs:
        questions = next_questions(
            engine_model(pub.model),  # rule groups only: a trained model is not re-run
            contact,
            wanted,
            n,
            events=evs,
            as_of=now,
            enrich=bool(svc.settings.enrich_offline),
        )
        out.append(
            {
                "model": pub.name,
                "version": pub.version,
                "questions": [q.to_dict() for q in questions],
            }
        )
    return {"contact_id": contact_id, "fields": wanted, "models": out}

"""Model versions: drafts, validation, testing, impact, publish, rollback, diff."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query

from ..store import tables as T
from . import versions
from .auth import Principal
from .core import Service
from .deps import require, service
from .schemas import DraftIn, PublishIn, RollbackIn, TestIn, ValidateIn

router = APIRouter(prefix="/v1/models", tags=["models"])
Name = Path(min_length=1, max_length=200)
Version = Path(ge=1, le=1_000_000)
MV = T.model_versions.c


@router.get("", summary="Models, each with its versions' status")
def list_models(
    svc: Service = Depends(service), _: Principal = Depends(require("read"))
) -> dict[str, Any]:
    with svc.store.read() as conn:
        rows = conn.execute(sa.select(T.model_versions).order_by(MV.name, MV.version)).all()
    models: dict[str, dict[str, Any]] = {}
    for r in rows:
        m = models.setdefault(r.name, {"name": r.name, "published": None, "versions": []})
        m["versions"].append(versions.describe(r))
        if r.status == "published":
            m["published"] = r.version
    return {"items": list(models.values())}


@router.post("", status_code=201, summary="Create a draft version from YAML")
def create_draft(
    body: DraftIn, svc: Service = Depends(service), who: Principal = Depends(require("admin"))
) -> dict[str, Any]:
    return versions.create_draft(svc, body.yaml, body.hysteresis, who.actor)


@router.post("/validate", summary="Validate YAML; problems carry line and column")
def validate(
    body: ValidateIn, svc: Service = Depends(service), _: Principal = Depends(require("read"))
) -> dict[str, Any]:
    return versions.validate(body.yaml, svc.settings, svc.vocabulary.get())


@router.get("/{name}/versions/{version}", summary="One version with its YAML")
def get_version(
    name: str = Name,
    version: int = Version,
    svc: Service = Depends(service),
    _: Principal = Depends(require("read")),
) -> dict[str, Any]:
    with svc.store.read() as conn:
        return versions.describe(versions.version_row(conn, name, version), with_yaml=True)


@router.post("/{name}/versions/{version}/test", summary="Score a stored contact with a version")
def test_version(
    body: TestIn,
    name: str = Name,
    version: int = Version,
    svc: Service = Depends(service),
    _: Principal = Depends(require("read")),
) -> dict[str, Any]:
    return versions.test_on_contact(svc, name, version, body.contact_id, body.as_of)


@router.get(
    "/{name}/versions/{version}/impact",
    summary="How many contacts would change stage and grade if this were published",
)
def impact(
    name: str = Name,
    version: int = Version,
    svc: Service = Depends(service),
    _: Principal = Depends(require("read")),
) -> dict[str, Any]:
    return versions.impact(svc, name, version)


@router.post("/{name}/versions/{version}/publish", summary="Publish and rescore everyone")
def publish(
    body: PublishIn | None = None,
    name: str = Name,
    version: int = Version,
    svc: Service = Depends(service),
    who: Principal = Depends(require("admin")),
) -> dict[str, Any]:
    fire = body.fire_triggers if body else False
    return versions.publish(svc, name, version, who.actor, fire_triggers=fire)


@router.post("/{name}/rollback", summary="Publish an earlier version again")
def rollback(
    body: RollbackIn,
    name: str = Name,
    svc: Service = Depends(service),
    who: Principal = Depends(require("admin")),
) -> dict[str, Any]:
    return versions.rollback(svc, name, body.version, who.actor, fire_triggers=body.fire_triggers)


@router.get("/{name}/diff", summary="What changed between two versions")
def diff(
    name: str = Name,
    from_: int = Query(..., alias="from", ge=1, le=1_000_000),
    to: int = Query(..., ge=1, le=1_000_000),
    svc: Service = Depends(service),
    _: Principal = Depends(require("read")),
) -> dict[str, Any]:
    return versions.diff(svc, name, from_, to)

"""Request and response bodies of the API (they make the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Id = Field(min_length=1, max_length=200, pattern=r"^[^\s/]+$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContactIn(Strict):
    id: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[^\s/]+$")
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    properties: dict[str, Any] = Field(default_factory=dict)
    replace: bool = Field(default=False, description="replace all properties instead of merging")


class ContactBatch(Strict):
    contacts: list[ContactIn] = Field(min_length=1)


class AccountIn(Strict):
    id: str = Field(min_length=1, max_length=200, pattern=r"^[^\s/]+$")
    domain: str | None = Field(
        default=None,
        max_length=253,
        description="web domain linking contacts by e-mail (omit: keep; null: remove)",
    )
    properties: dict[str, Any] = Field(default_factory=dict)
    replace: bool = Field(default=False, description="replace all properties instead of merging")


class AccountPut(Strict):
    domain: str | None = Field(
        default=None,
        max_length=253,
        description="web domain linking contacts by e-mail (omit: keep; null: remove)",
    )
    properties: dict[str, Any] = Field(default_factory=dict)
    replace: bool = Field(default=False, description="replace all properties instead of merging")


class AccountBatch(Strict):
    accounts: list[AccountIn] = Field(min_length=1)


class EventIn(Strict):
    contact_id: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[^\s/]+$")
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    type: str = Field(min_length=1, max_length=100)
    ts: datetime | None = Field(default=None, description="when it happened (default: now)")
    attributes: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)


class EventBatch(Strict):
    events: list[EventIn] = Field(min_length=1)


class AdjustmentIn(Strict):
    points: float = Field(ge=-1e6, le=1e6)
    reason: str = Field(min_length=1, max_length=500)
    author: str | None = Field(default=None, max_length=200)
    model: str | None = Field(default=None, description="one model's score only (default all)")


class DraftIn(Strict):
    yaml: str = Field(min_length=1, max_length=1_000_000)
    hysteresis: dict[str, float] = Field(
        default_factory=dict, description="per trigger name: hysteresis band in points"
    )


class ValidateIn(Strict):
    yaml: str = Field(min_length=1, max_length=1_000_000)


class TestIn(Strict):
    contact_id: str = Field(min_length=1, max_length=200)
    as_of: datetime | None = None


class PublishIn(Strict):
    fire_triggers: bool = Field(
        default=False, description="let stage changes caused by this publish fire triggers"
    )


class RollbackIn(PublishIn):
    version: int = Field(ge=1, le=1_000_000)  # same bound as the version in paths


class KeyIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    scope: Literal["read", "write", "admin", "track"]


class ScoreOut(BaseModel):
    model: str
    version: int
    total: float
    grade: str | None
    stage: str | None
    excluded: bool
    groups: dict[str, float]
    adjustment: float
    scored_at: datetime
    breakdown: list[dict[str, Any]] | None = None


class Page(BaseModel):
    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int

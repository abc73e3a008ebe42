"""Request and response bodies of the API (they make the OpenAPI document).

Every request body is a :class:`Strict` model: before its fields are read, the
whole body is checked by :func:`leadscore.values.check_json` (no NUL in any text
or key, only finite numbers that fit 64 bits, bounded nesting), so what one store
refuses is refused on both, with the path to the bad value and the fix. Times are
:data:`Instant`: naive means UTC, and they must lie between :data:`MIN_TIME` and
:data:`MAX_TIME` (scoring as of year 1 would step before the calendar's start).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ..values import BadValue, check_json

Id = Field(min_length=1, max_length=200, pattern=r"^[^\s/]+$")
MIN_TIME = datetime(1900, 1, 1, tzinfo=UTC)
MAX_TIME = datetime(9999, 1, 1, tzinfo=UTC)


def storable(value: Any, where: str = "") -> Any:
    """``value`` when it can be stored; else a validation error naming the bad part."""
    try:
        return check_json(value, where)
    except BadValue as exc:
        raise PydanticCustomError("unstorable_value", str(exc)) from None


def _instant(value: datetime) -> datetime:
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    if not MIN_TIME <= value < MAX_TIME:
        raise PydanticCustomError(
            "time_out_of_range",
            f"{value.isoformat()} is outside the times the service keeps; send a time "
            f"from {MIN_TIME.date()} up to {MAX_TIME.date()} (UTC)",
        )
    return value.astimezone(UTC)


Instant = Annotated[datetime, AfterValidator(_instant)]
"""A point in time: time zone aware (naive means UTC), in UTC, within the kept range."""
Finite = Annotated[float, Field(allow_inf_nan=False)]
"""A number that is not NaN or infinite (query filters)."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        return storable(data)


EMAIL_HELP = (
    "e-mail address, stored trimmed and in lower case; one that is not a valid address is "
    "kept too (enrichment marks it email_valid: false, email_type: invalid)"
)


def _email(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        raise PydanticCustomError(
            "empty_email", "the e-mail is blank; send an address or leave the field out"
        )
    return value


Email = Annotated[str, StringConstraints(max_length=320), AfterValidator(_email)]


class ContactIn(Strict):
    id: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[^\s/]+$")
    email: Email | None = Field(default=None, description=EMAIL_HELP)
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
    email: Email | None = Field(default=None, description=EMAIL_HELP)
    type: str = Field(min_length=1, max_length=100)
    ts: Instant | None = Field(default=None, description="when it happened (default: now)")
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
    as_of: Instant | None = None


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
    matrix: str | None = None  # the fit × engagement cell (A1), models with a matrix only
    quadrant: str | None = None
    breakdown: list[dict[str, Any]] | None = None


class Page(BaseModel):
    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int

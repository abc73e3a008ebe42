"""Typed results: a contact's score and the breakdown that explains it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


@dataclass(frozen=True, slots=True)
class Event:
    """One thing a contact did. ``id`` is the idempotency key: events sharing it
    are one event delivered twice and count once."""

    type: str
    ts: datetime
    id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """The fields an event filter reads: ``type`` and every attribute."""
        return {**self.attributes, "type": self.type}


class RuleHit(BaseModel):
    """What one rule did for one contact."""

    model_config = ConfigDict(frozen=True)

    group: str
    rule: str
    kind: str
    fired: bool
    matched: int = 0  # events that matched and counted (after window, limit, de-duplication)
    points_raw: float = 0.0  # before decay and cap
    points_decayed: float = 0.0  # after decay, before cap
    points: float = 0.0  # what the rule adds to its group
    capped: bool = False
    detail: str | None = None


class ScoreResult(BaseModel):
    """A contact's score under one model, as of one time."""

    model_config = ConfigDict(frozen=True)

    model: str
    contact_id: str | None
    as_of: datetime
    groups: dict[str, float]
    total: float
    grade: str | None
    stage: str | None
    excluded: bool
    matrix: str | None = None  # the fit × engagement cell (A1), when the model has a matrix
    quadrant: str | None = None  # the cell's quadrant name
    exclusion_reasons: tuple[str, ...] = ()
    rules_fired: int
    breakdown: tuple[RuleHit, ...]
    # the contact's current stage the stage was derived from (per-phase thresholds and
    # kept stages read it; see ScoringModel.phase_of)
    phase: str | None = None

    def fired(self) -> list[RuleHit]:
        return [h for h in self.breakdown if h.fired]

    def row(self) -> dict[str, Any]:
        """A flat row for tables and files: one column per group; ``matrix`` and
        ``quadrant`` last when the model declares a matrix."""
        out: dict[str, Any] = {"contact_id": self.contact_id, "model": self.model}
        out.update({g: v for g, v in self.groups.items()})
        out.update(
            total=self.total,
            grade=self.grade,
            stage=self.stage,
            excluded=self.excluded,
            exclusion_reason="; ".join(self.exclusion_reasons) or None,
            rules_fired=self.rules_fired,
        )
        if self.matrix is not None:
            out.update(matrix=self.matrix, quadrant=self.quadrant)
        return out

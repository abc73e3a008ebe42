"""Stage entry as a recorded fact: the stage each contact entered under each model.

When a scoring gives a contact a stage it was not in, the service records the entry
(``contact_stages``: the stage, when it was entered, by the model or by the CRM). The
record is an input of the next scoring under a model that keeps stages
(``lifecycle.keep_stage``, on by default when a group resets on stage change): the
contact's phase and entered-at time come from it, so the stage stays until a
threshold of the model moves the contact on, and a group with ``reset_on_stage``
counts from the entry.

The CRM (or any writer of the contact's properties) moves the contact by changing the
stage property or the entered-at property: the record keeps the two values it saw,
and a later difference means the CRM's values stand, recorded as an entry by the CRM
(at its entered-at time when readable, else at the scoring time).

Entering a stage under a model with a resetting group changes that group's score at
once (it restarts from the entry): :func:`settle` scores again with the new record,
so the score stored is the one the recorded inputs give.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..engine import values as V
from ..engine.sql.base import uses_reset
from ..model.schema import ScoringModel
from ..store import tables as T

SETTLE_ROUNDS = 4
"""Scorings at most for one contact's entries to settle (each new entry under a model
with a resetting group scores it again; a stage entered twice at the same instant
gives the same inputs, so this is reached only by a chain of stages entered at once)."""


@dataclass(frozen=True)
class StageFact:
    """A contact's recorded stage under one model."""

    stage: str
    entered_at: datetime
    source: str  # model | crm
    crm_stage: str | None
    crm_entered_at: str | None
    previous_stage: str | None = None
    version: int | None = None
    changed: bool = False  # recorded by this scoring (to be written)


_IDS = sa.bindparam("ids", expanding=True)
_NAMES = sa.bindparam("names", expanding=True)
Q_STAGES = sa.select(T.contact_stages).where(
    T.contact_stages.c.contact_id.in_(_IDS), T.contact_stages.c.model_name.in_(_NAMES)
)


def load(
    conn: sa.Connection, ids: Sequence[str], names: Sequence[str]
) -> dict[tuple[str, str], StageFact]:
    """The recorded stages of these contacts under these models, by (contact, model)."""
    if not ids or not names:
        return {}
    out = {}
    for r in conn.execute(Q_STAGES, {"ids": sorted(set(ids)), "names": sorted(set(names))}):
        out[(r.contact_id, r.model_name)] = StageFact(
            r.stage,
            r.entered_at,
            r.source,
            r.crm_stage,
            r.crm_entered_at,
            r.previous_stage,
            r.version,
        )
    return out


def recorded_by(
    conn: sa.Connection, ids: Sequence[str], name: str, as_of: datetime | None = None
) -> dict[str, StageFact]:
    """The recorded stages of these contacts under one model, by contact: only those
    entered by ``as_of`` when given (a score as of a past time)."""
    found = load(conn, ids, [name])
    return {cid: f for (cid, _), f in found.items() if as_of is None or f.entered_at <= as_of}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def crm_values(model: ScoringModel, record: dict[str, Any]) -> tuple[str | None, str | None]:
    """The contact's own stage and entered-at properties, as text."""
    lc = model.lifecycle
    return _text(record.get(lc.stage_property)), _text(record.get(lc.entered_at_property))


def follows_record(model: ScoringModel, record: dict[str, Any], fact: StageFact | None) -> bool:
    """Whether the scoring reads the recorded stage: the model keeps stages, one is
    recorded and the CRM has not changed its values since."""
    if fact is None or not model.keeps_stage:
        return False
    return crm_values(model, record) == (fact.crm_stage, fact.crm_entered_at)


def inputs_of(
    model: ScoringModel, record: dict[str, Any], fact: StageFact | None
) -> dict[str, Any]:
    """The record the evaluator reads: with the recorded stage and entry time as the
    stage and entered-at properties when :func:`follows_record`."""
    if not follows_record(model, record, fact):
        return record
    assert fact is not None
    lc = model.lifecycle
    return {
        **record,
        lc.stage_property: fact.stage,
        lc.entered_at_property: fact.entered_at.isoformat(),
    }


def entry(
    model: ScoringModel,
    record: dict[str, Any],
    fact: StageFact | None,
    stage: str | None,
    phase: str | None,
    as_of: datetime,
    version: int,
) -> StageFact | None:
    """The record after a scoring that gave ``stage`` from ``phase`` (None: unchanged).

    An excluded contact (no stage) keeps its record, or takes the CRM's stage when the
    CRM moved it. A stage the CRM gave and the scoring kept is entered at the CRM's
    entered-at time when readable. The default stage, where contacts start, is not an
    entry until a contact comes back to it."""
    crm_stage, crm_entered = crm_values(model, record)
    followed = follows_record(model, record, fact)
    target = stage if stage is not None else (None if followed else phase)
    if target is None:
        return None
    if followed:
        assert fact is not None
        if fact.stage == target:
            return None
        return StageFact(
            target, as_of, "model", crm_stage, crm_entered, fact.stage, version, changed=True
        )
    # the CRM's values stand: the current stage is the CRM's (its phase), or none yet
    if (
        fact is not None
        and fact.stage == target
        and (fact.crm_stage, fact.crm_entered_at)
        == (
            crm_stage,
            crm_entered,
        )
    ):
        return None
    by_crm = phase is not None and target == phase
    if fact is None and not by_crm and target == model.default_stage:
        return None  # where every contact starts: entered at no time (nothing resets)
    when = V.optional_timestamp(crm_entered) if by_crm else None
    previous = fact.stage if fact is not None else None
    if fact is not None and fact.stage == target and not by_crm:
        return replace(fact, crm_stage=crm_stage, crm_entered_at=crm_entered, changed=True)
    return StageFact(
        target,
        when if when is not None and when <= as_of else as_of,
        "crm" if by_crm else "model",
        crm_stage,
        crm_entered,
        previous,
        None if by_crm else version,
        changed=True,
    )


def rescores(model: ScoringModel, before: StageFact | None, after: StageFact) -> bool:
    """Whether a new record changes what the model scores: a resetting group counts
    from another time, or a kept stage is another phase."""
    if not model.keeps_stage:
        return False
    if before is not None and (before.stage, before.entered_at) == (after.stage, after.entered_at):
        return False
    return uses_reset(model) or model.reads_phase()


def write(conn: sa.Connection, facts: dict[tuple[str, str], StageFact]) -> None:
    """Store the entries a scoring recorded (replacing the contacts' earlier ones)."""
    rows = [
        {
            "contact_id": cid,
            "model_name": name,
            "stage": f.stage,
            "entered_at": f.entered_at,
            "source": f.source,
            "version": f.version,
            "previous_stage": f.previous_stage,
            "crm_stage": None if f.crm_stage is None else f.crm_stage[:400],
            "crm_entered_at": None if f.crm_entered_at is None else f.crm_entered_at[:400],
        }
        for (cid, name), f in sorted(facts.items())
        if f.changed
    ]
    if not rows:
        return
    c = T.contact_stages.c
    conn.execute(
        sa.delete(T.contact_stages).where(
            sa.tuple_(c.contact_id, c.model_name).in_(
                [(r["contact_id"], r["model_name"]) for r in rows]
            )
        )
    )
    conn.execute(sa.insert(T.contact_stages), rows)

"""Trigger crossings: each action runs once per crossing, again after a re-crossing.

A trigger on ``enters: S`` is *armed* until it fires; it fires when the
contact is in ``S`` and armed, then disarms. It re-arms once the contact is out
of ``S`` and would stay out even with ``hysteresis`` more points, so a score
hovering at the threshold does not flap. ``leaves: S`` is the mirror image.

The state lives in ``trigger_state`` (model, trigger, contact → armed,
crossings); a firing writes one outbox row per action keyed by
``model:trigger:contact:crossing:action``, a unique key, in the same
transaction as the score change. The outbox worker delivers them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from ..model.schema import EmailAction, WebhookAction
from ..store import tables as T
from .published import Published


@dataclass(frozen=True)
class TriggerCheck:
    pub: Published
    contact: Any  # a contacts row
    adjusted: Any  # scoring.Adjusted


def _stage_with(check: TriggerCheck, delta: float) -> str | None:
    from .scoring import stage_for

    res = check.adjusted.result
    return stage_for(
        check.pub.model, res.groups, check.adjusted.total + delta, res.grade, res.excluded
    )


_TS = T.trigger_state.c
Q_STATE = sa.select(T.trigger_state).where(
    _TS.contact_id.in_(sa.bindparam("ids", expanding=True)),
    _TS.model_name.in_(sa.bindparam("names", expanding=True)),
)


def _rearms(check: TriggerCheck, entering: bool, in_stage: bool, h: float, stage: str) -> bool:
    """Whether a fired trigger is ready again: out of (or back in) the stage, past the band."""
    if entering:
        return not in_stage and (h <= 0 or _stage_with(check, h) != stage)
    return in_stage and (h <= 0 or _stage_with(check, -h) == stage)


def delivery_key(model: str, trigger: str, contact_id: str, crossing: int, action: int) -> str:
    return f"{model}:{trigger}:{contact_id}:{crossing}:{action}"


def _target(action: Any) -> str:
    if isinstance(action, WebhookAction):
        return action.url
    if isinstance(action, EmailAction):
        return ",".join(action.to)
    return getattr(action, "system", action.kind)


def check_triggers(
    conn: sa.Connection,
    checks: Sequence[TriggerCheck],
    *,
    now: datetime,
    default_hysteresis: float,
    fire: bool,
) -> int:
    """Update trigger states for freshly scored contacts; returns outbox rows written."""
    relevant = [c for c in checks if c.pub.model.triggers]
    if not relevant:
        return 0
    ids = sorted({c.contact.id for c in relevant})
    names = sorted({c.pub.name for c in relevant})
    ts = T.trigger_state.c
    state = {
        (r.model_name, r.trigger, r.contact_id): r
        for r in conn.execute(Q_STATE, {"ids": ids, "names": names})
    }
    inserts, updates, outbox = [], [], []
    for check in relevant:
        pub, cid = check.pub, check.contact.id
        stage = check.adjusted.stage
        for trig in pub.model.triggers:
            entering = trig.on.enters is not None
            target_stage = trig.on.enters or trig.on.leaves
            h = pub.hysteresis(trig.name, default_hysteresis)
            old = state.get((pub.name, trig.name, cid))
            armed = old.armed if old is not None else entering
            crossings = old.crossings if old is not None else 0
            in_stage = stage == target_stage
            fires = armed and (in_stage if entering else not in_stage)
            if fires:
                armed = False
                crossings += 1
                if fire:
                    outbox.extend(_outbox_rows(check, trig, crossings, stage, now))
            elif _rearms(check, entering, in_stage, h, target_stage):
                armed = True
            row = {
                "model_name": pub.name,
                "trigger": trig.name,
                "contact_id": cid,
                "armed": armed,
                "crossings": crossings,
                "changed_at": now,
            }
            if old is None:
                inserts.append(row)
            elif old.armed != armed or old.crossings != crossings:
                updates.append(row)
    if inserts:
        conn.execute(sa.insert(T.trigger_state), inserts)
    if updates:
        conn.execute(
            sa.update(T.trigger_state)
            .where(
                ts.model_name == sa.bindparam("b_m"),
                ts.trigger == sa.bindparam("b_t"),
                ts.contact_id == sa.bindparam("b_c"),
            )
            .values(
                armed=sa.bindparam("armed"),
                crossings=sa.bindparam("crossings"),
                changed_at=sa.bindparam("changed_at"),
            ),
            [
                {**u, "b_m": u["model_name"], "b_t": u["trigger"], "b_c": u["contact_id"]}
                for u in updates
            ],
        )
    if outbox:
        _insert_ignore(conn, outbox)
    return len(outbox)


def _insert_ignore(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    conn.execute(insert(T.deliveries).on_conflict_do_nothing(index_elements=["key"]), rows)


def _outbox_rows(
    check: TriggerCheck, trig: Any, crossing: int, stage: str | None, now: datetime
) -> list[dict[str, Any]]:
    pub, contact, adj = check.pub, check.contact, check.adjusted
    rows = []
    for i, action in enumerate(trig.actions):
        key = delivery_key(pub.name, trig.name, contact.id, crossing, i)
        payload = {
            "type": "trigger.fired",
            "delivery": key,
            "trigger": trig.name,
            "on": {"enters": trig.on.enters} if trig.on.enters else {"leaves": trig.on.leaves},
            "crossing": crossing,
            "model": {"name": pub.name, "version": pub.version},
            "contact": {"id": contact.id, "email": contact.email},
            "score": {
                "total": adj.total,
                "grade": adj.result.grade,
                "stage": stage,
                "groups": adj.result.groups,
                "excluded": adj.result.excluded,
            },
            "at": now.isoformat(),
        }
        if isinstance(action, EmailAction) and action.subject:
            payload["subject"] = action.subject
        rows.append(
            {
                "key": key,
                "model_name": pub.name,
                "trigger": trig.name,
                "contact_id": contact.id,
                "crossing": crossing,
                "action_index": i,
                "kind": action.kind,
                "target": _target(action),
                "secret_env": getattr(action, "secret_env", None),
                "payload": payload,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": datetime.now(UTC),  # due now, whatever time was scored
                "last_error": None,
                "created_at": now,
                "delivered_at": None,
            }
        )
    return rows

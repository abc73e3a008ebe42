"""Trigger crossings: each action runs once per crossing, again after a re-crossing.

Every trigger is *armed* until it fires, then disarmed until it re-arms:

* ``enters: S`` fires when the contact is in ``S``; re-arms once the contact is
  out of ``S`` and would stay out even with ``hysteresis`` more points, so a
  score hovering at the threshold does not flap. ``leaves: S`` is the mirror
  image (armed only once the contact has been in ``S``).
* ``crosses: {score, above: N}`` fires when the score (the total or a group)
  is N or more; re-arms once it is under ``N - hysteresis``. ``below: N`` fires
  when the score falls under N; armed once it is at ``N + hysteresis`` or more.
* ``holds: CONDITION, for: PERIOD`` remembers since when the condition has held
  without a break (and without the contact being in ``unless_stage``); fires
  when that is ``PERIOD`` ago; re-arms when the condition stops holding. The
  sweep rescores the contacts whose period ran out (:func:`due_holds`).

The state lives in ``trigger_state`` (model, trigger, contact → armed,
crossings, since); a firing writes one outbox row per action keyed by
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


CRM_REASONS = 3  # top reasons a crm action writes
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


def _score_value(check: TriggerCheck, score: str) -> float:
    if score == "total":
        return float(check.adjusted.total)
    return float(check.adjusted.result.groups.get(score, 0.0))


def _holds(check: TriggerCheck, on: Any) -> bool:
    """Whether a ``holds`` condition is true now (and the contact is not in ``unless_stage``)."""
    from ..engine.conditions import evaluate

    stage = check.adjusted.stage
    if on.unless_stage is not None and stage == on.unless_stage:
        return False
    res = check.adjusted.result
    scores = {**res.groups, "total": check.adjusted.total, "grade": res.grade, "stage": stage}
    return bool(evaluate(on.holds, scores))


@dataclass
class _Step:
    """One trigger's state for one contact, before and after this check."""

    armed: bool
    crossings: int
    since: datetime | None
    fires: bool = False


def _step(check: TriggerCheck, trig: Any, old: Any, h: float, now: datetime) -> _Step:
    """The crossing logic of each trigger kind: fire once when armed and in the firing
    region, re-arm once out of it by more than the hysteresis band."""
    on = trig.on
    kind = on.kind
    armed_first = kind in ("enters", "holds") or (
        kind == "crosses" and on.crosses.above is not None
    )
    st = _Step(
        armed=old.armed if old is not None else armed_first,
        crossings=old.crossings if old is not None else 0,
        since=getattr(old, "since", None) if old is not None else None,
    )
    if kind in ("enters", "leaves"):
        entering = kind == "enters"
        target = on.enters or on.leaves
        in_stage = check.adjusted.stage == target
        fire_now = in_stage if entering else not in_stage
        rearm = _rearms(check, entering, in_stage, h, target)
    elif kind == "crosses":
        value, c = _score_value(check, on.crosses.score), on.crosses
        if c.above is not None:
            fire_now, rearm = value >= c.above, value < c.above - h
        else:
            fire_now, rearm = value < c.below, value >= c.below + h
    else:  # holds: fires once the condition has held for the period without a break
        holding = _holds(check, on)
        st.since = (st.since or now) if holding else None
        fire_now = holding and (now - st.since).total_seconds() >= on.for_
        rearm = not holding
    if st.armed and fire_now:
        st.armed, st.fires = False, True
        st.crossings += 1
    elif not st.armed and rearm:
        st.armed = True
    return st


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
        for trig in pub.model.triggers:
            h = pub.hysteresis(trig.name, default_hysteresis)
            old = state.get((pub.name, trig.name, cid))
            st = _step(check, trig, old, h, now)
            if st.fires and fire:
                outbox.extend(_outbox_rows(check, trig, st.crossings, now, st.since))
            row = {
                "model_name": pub.name,
                "trigger": trig.name,
                "contact_id": cid,
                "armed": st.armed,
                "crossings": st.crossings,
                "since": st.since,
                "changed_at": now,
            }
            if old is None:
                inserts.append(row)
            elif (old.armed, old.crossings, old.since) != (st.armed, st.crossings, st.since):
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
                since=sa.bindparam("since"),
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


def due_holds(conn: sa.Connection, pub: Published, now: datetime) -> list[str]:
    """Contacts whose ``holds`` triggers of ``pub`` have held long enough to fire now."""
    periods = {t.name: t.on.for_ for t in pub.model.triggers if t.on.holds is not None}
    if not periods:
        return []
    rows = conn.execute(
        sa.select(_TS.contact_id, _TS.trigger, _TS.since).where(
            _TS.model_name == pub.name,
            _TS.trigger.in_(sorted(periods)),
            _TS.armed.is_(True),
            _TS.since.is_not(None),
        )
    ).all()
    return sorted(
        {r.contact_id for r in rows if (now - r.since).total_seconds() >= periods[r.trigger]}
    )


def _insert_ignore(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    conn.execute(insert(T.deliveries).on_conflict_do_nothing(index_elements=["key"]), rows)


def _outbox_rows(
    check: TriggerCheck, trig: Any, crossing: int, now: datetime, since: datetime | None
) -> list[dict[str, Any]]:
    stage = check.adjusted.stage
    pub, contact, adj = check.pub, check.contact, check.adjusted
    rows = []
    for i, action in enumerate(trig.actions):
        key = delivery_key(pub.name, trig.name, contact.id, crossing, i)
        payload = {
            "type": "trigger.fired",
            "delivery": key,
            "trigger": trig.name,
            "on": trig.on.describe(),
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
        if since is not None:
            payload["held_since"] = since.isoformat()
        if action.kind == "crm":  # the CRM's "top reasons" field, as the CRM sync writes it
            from ..integrations.crm.base import reasons_from_breakdown

            payload["reasons"] = list(reasons_from_breakdown(adj.breakdown, CRM_REASONS))
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

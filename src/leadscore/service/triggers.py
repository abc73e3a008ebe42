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

Account triggers (the ``triggers`` of a model's ``account:`` section) work the
same way on account scores, with their state in ``account_trigger_state`` and
delivery keys ``model:trigger:account:ID:crossing:action``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from ..engine import spine
from ..model.schema import EmailAction, WebhookAction
from ..reasons import reasons_from_breakdown
from ..store import tables as T
from .published import Published


@dataclass(frozen=True)
class TriggerCheck:
    pub: Published
    contact: Any  # a contacts row, or an accounts row for an account check
    adjusted: Any  # scoring.Adjusted (or writes.AccountScore, with the same fields)
    kind: str = "contact"  # or "account"

    @property
    def scoring(self) -> Any:
        """What the triggers, thresholds and stages come from: the model or its section."""
        return self.pub.model if self.kind == "contact" else self.pub.model.account


@dataclass(frozen=True)
class _Subject:
    """Where one kind of trigger keeps its state, and the key column there."""

    table: Any
    key: str


SUBJECTS = {
    "contact": _Subject(T.trigger_state, "contact_id"),
    "account": _Subject(T.account_trigger_state, "account_id"),
}


def _stage_with(check: TriggerCheck, delta: float) -> str | None:
    res = check.adjusted.result
    return spine.stage(
        check.scoring,
        res.groups,
        check.adjusted.total + delta,
        res.grade,
        res.excluded,
        getattr(res, "phase", None),
    )


CRM_REASONS = 3  # top reasons a crm action writes
CONTRIBUTORS = 5  # top contacts an account trigger's payload names


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
    cell = getattr(res, "matrix", None)  # contacts of a model with a matrix
    if cell is not None:
        scores.update(matrix=cell, quadrant=getattr(res, "quadrant", None))
    return bool(evaluate(on.holds, scores))


@dataclass
class _Step:
    """One trigger's state for one contact, before and after this check."""

    armed: bool
    crossings: int
    since: datetime | None
    fires: bool = False


def _step(check: TriggerCheck, trig: Any, old: Any, h: float, as_of: datetime) -> _Step:
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
        st.since = (st.since or as_of) if holding else None
        fire_now = holding and (as_of - st.since).total_seconds() >= on.for_
        rearm = not holding
    if st.armed and fire_now:
        st.armed, st.fires = False, True
        st.crossings += 1
    elif not st.armed and rearm:
        st.armed = True
    return st


def delivery_key(
    model: str, trigger: str, contact_id: str, crossing: int, action: int, kind: str = "contact"
) -> str:
    if kind == "account":
        return f"{model}:{trigger}:account:{contact_id}:{crossing}:{action}"
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
    as_of: datetime,
    default_hysteresis: float,
    fire: bool,
) -> int:
    """Update trigger states for contacts (or accounts) freshly scored as of ``as_of``;
    returns outbox rows written."""
    written = 0
    for kind, subject in SUBJECTS.items():
        mine = [c for c in checks if c.kind == kind and c.scoring.triggers]
        if mine:
            written += _check(conn, mine, subject, as_of, default_hysteresis, fire)
    return written


def _check(conn, relevant, subject: _Subject, as_of, default_hysteresis, fire) -> int:
    table, key = subject.table, subject.key
    ts = table.c
    ids = sorted({c.contact.id for c in relevant})
    names = sorted({c.pub.name for c in relevant})
    state = {
        (r.model_name, r.trigger, getattr(r, key)): r
        for r in conn.execute(sa.select(table).where(ts[key].in_(ids), ts.model_name.in_(names)))
    }
    inserts, updates, outbox = [], [], []
    for check in relevant:
        pub, cid = check.pub, check.contact.id
        for trig in check.scoring.triggers:
            h = pub.hysteresis(trig.name, default_hysteresis)
            old = state.get((pub.name, trig.name, cid))
            st = _step(check, trig, old, h, as_of)
            if st.fires and fire:
                outbox.extend(_outbox_rows(check, trig, st.crossings, as_of, st.since))
            row = {
                "model_name": pub.name,
                "trigger": trig.name,
                key: cid,
                "armed": st.armed,
                "crossings": st.crossings,
                "since": st.since,
                "changed_at": as_of,
            }
            if old is None:
                inserts.append(row)
            elif (old.armed, old.crossings, old.since) != (st.armed, st.crossings, st.since):
                updates.append(row)
    if inserts:
        conn.execute(sa.insert(table), inserts)
    if updates:
        conn.execute(
            sa.update(table)
            .where(
                ts.model_name == sa.bindparam("b_m"),
                ts.trigger == sa.bindparam("b_t"),
                ts[key] == sa.bindparam("b_c"),
            )
            .values(
                armed=sa.bindparam("armed"),
                crossings=sa.bindparam("crossings"),
                since=sa.bindparam("since"),
                changed_at=sa.bindparam("changed_at"),
            ),
            [{**u, "b_m": u["model_name"], "b_t": u["trigger"], "b_c": u[key]} for u in updates],
        )
    if outbox:
        _insert_ignore(conn, outbox)
    return len(outbox)


def due_holds(
    conn: sa.Connection, pub: Published, as_of: datetime, kind: str = "contact"
) -> list[str]:
    """Contacts (or accounts) whose ``holds`` triggers of ``pub`` have held long enough
    to fire as of ``as_of``."""
    scoring = pub.model if kind == "contact" else pub.model.account
    if scoring is None:
        return []
    periods = {t.name: t.on.for_ for t in scoring.triggers if t.on.holds is not None}
    if not periods:
        return []
    subject = SUBJECTS[kind]
    ts = subject.table.c
    rows = conn.execute(
        sa.select(ts[subject.key].label("subject"), ts.trigger, ts.since).where(
            ts.model_name == pub.name,
            ts.trigger.in_(sorted(periods)),
            ts.armed.is_(True),
            ts.since.is_not(None),
        )
    ).all()
    return sorted(
        {r.subject for r in rows if (as_of - r.since).total_seconds() >= periods[r.trigger]}
    )


def _insert_ignore(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    conn.execute(insert(T.deliveries).on_conflict_do_nothing(index_elements=["key"]), rows)


def _outbox_rows(
    check: TriggerCheck, trig: Any, crossing: int, as_of: datetime, since: datetime | None
) -> list[dict[str, Any]]:
    stage = check.adjusted.stage
    pub, contact, adj = check.pub, check.contact, check.adjusted
    account = check.kind == "account"
    rows = []
    for i, action in enumerate(trig.actions):
        key = delivery_key(pub.name, trig.name, contact.id, crossing, i, check.kind)
        payload = {
            "type": "trigger.fired",
            "delivery": key,
            "trigger": trig.name,
            "on": trig.on.describe(),
            "crossing": crossing,
            "model": {"name": pub.name, "version": pub.version},
            **(
                {"account": _account_payload(contact, adj)}
                if account
                else {"contact": {"id": contact.id, "email": contact.email}}
            ),
            "score": {
                "total": adj.total,
                "grade": adj.result.grade,
                "stage": stage,
                "groups": adj.result.groups,
                "excluded": adj.result.excluded,
            },
            "at": as_of.isoformat(),
        }
        if since is not None:
            payload["held_since"] = since.isoformat()
        if action.kind == "crm":  # the CRM's "top reasons" field, as the CRM sync writes it
            payload["reasons"] = list(reasons_from_breakdown(adj.breakdown, CRM_REASONS))
        if isinstance(action, EmailAction) and action.subject:
            payload["subject"] = action.subject
        rows.append(
            {
                "key": key,
                "model_name": pub.name,
                "trigger": trig.name,
                "contact_id": None if account else contact.id,
                "account_id": contact.id if account else None,
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
                "created_at": as_of,
                "delivered_at": None,
            }
        )
    return rows


def _account_payload(row: Any, adj: Any) -> dict[str, Any]:
    """The account in a trigger's payload: id, domain, contacts and the top contributors."""
    shares = sorted(adj.contributions().items(), key=lambda kv: (-kv[1], kv[0]))
    return {
        "id": row.id,
        "domain": row.domain,
        "contacts": adj.result.contacts,
        "top_contacts": [{"id": cid, "points": pts} for cid, pts in shares[:CONTRIBUTORS]],
    }

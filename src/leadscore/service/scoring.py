"""Rescoring contacts inside a write transaction.

Every change that can move a score (an event, a property update, an
adjustment, a publish, the time sweep) ends here: the contact is scored with
the in-process evaluator under each published model, manual adjustments are
added, the current score is replaced, the change is written to the history
and the triggers are checked — all in the caller's transaction, so a crash
leaves either everything or nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..engine import spine
from ..engine.inprocess import score_contact
from ..engine.result import Event, ScoreResult
from ..model.accounts import ACCOUNT
from ..model.schema import ScoringModel
from ..store import tables as T
from . import predicted as P
from .published import Published
from .triggers import TriggerCheck, check_triggers

if TYPE_CHECKING:
    from ..predict import Prediction


@dataclass(frozen=True)
class Adjusted:
    """An engine result with manual adjustments applied."""

    result: ScoreResult
    total: float
    stage: str | None
    adjustment: float
    breakdown: list[dict[str, Any]]
    pub: Published | None = None  # the model version that gave it


def apply_adjustments(
    model: ScoringModel, result: ScoreResult, adjustments: Sequence[dict[str, Any]]
) -> Adjusted:
    """Add manual points to the total (clamped to the scale) and re-derive the stage.

    An excluded contact stays at the floor: adjustments are listed but add nothing.
    """
    breakdown = [h.model_dump() for h in result.breakdown]
    points = 0.0
    for adj in adjustments:
        points += adj["points"]
        breakdown.append(
            {
                "group": "manual",
                "rule": adj["reason"],
                "kind": "adjustment",
                "fired": True,
                "matched": 0,
                "points_raw": adj["points"],
                "points_decayed": adj["points"],
                "points": 0.0 if result.excluded else adj["points"],
                "capped": False,
                "detail": f"by {adj['author']} at {adj['created_at'].isoformat()}",
            }
        )
    if result.excluded or not adjustments:
        return Adjusted(
            result, result.total, result.stage, 0.0 if result.excluded else points, breakdown
        )
    spined = spine.adjusted(model, result.groups, result.total, result.grade, points)
    return Adjusted(result, spined.total, spined.stage, points, breakdown)


def contact_record(row: Any) -> dict[str, Any]:
    return {**(row.properties or {}), "id": row.id, "email": row.email}


def with_account(record: dict[str, Any], account: dict[str, Any]) -> dict[str, Any]:
    """The record with its account's fields (a contact's own ``account.*`` set aside)."""
    own = {k: v for k, v in record.items() if not k.startswith(ACCOUNT)}
    return {**own, **account}


def to_events(rows: Iterable[Any]) -> list[Event]:
    return [
        Event(type=r.type, ts=r.ts, id=f"e{r.seq}", attributes=r.attributes or {}) for r in rows
    ]


_IDS = sa.bindparam("ids", expanding=True)
_NAMES = sa.bindparam("names", expanding=True)
_AS_OF = sa.bindparam("as_of")
# Statements built once: the hot path (one event, one contact) skips rebuilding them.
Q_CONTACTS = sa.select(T.contacts).where(T.contacts.c.id.in_(_IDS)).order_by(T.contacts.c.id)
Q_CONTACTS_LOCKED = Q_CONTACTS.with_for_update()
_EV_ORDER = (T.events.c.contact_id, T.events.c.ts, T.events.c.seq)
Q_EVENTS = sa.select(T.events).where(T.events.c.contact_id.in_(_IDS)).order_by(*_EV_ORDER)
Q_EVENTS_AS_OF = (
    sa.select(T.events)
    .where(T.events.c.contact_id.in_(_IDS), T.events.c.ts <= _AS_OF)
    .order_by(*_EV_ORDER)
)
Q_ADJUSTMENTS = (
    sa.select(T.adjustments)
    .where(T.adjustments.c.contact_id.in_(_IDS))
    .order_by(T.adjustments.c.id)
)
Q_ADJUSTMENTS_AS_OF = (
    sa.select(T.adjustments)
    .where(T.adjustments.c.contact_id.in_(_IDS), T.adjustments.c.created_at <= _AS_OF)
    .order_by(T.adjustments.c.id)
)
Q_SCORES = sa.select(T.scores).where(
    T.scores.c.contact_id.in_(_IDS), T.scores.c.model_name.in_(_NAMES)
)
Q_LOCK = (
    sa.select(T.contacts.c.id)
    .where(T.contacts.c.id.in_(_IDS))
    .order_by(T.contacts.c.id)
    .with_for_update()
)
Q_LATEST_EVENT = sa.select(sa.func.max(T.events.c.ts)).where(T.events.c.contact_id.in_(_IDS))


def lock_contacts(conn: sa.Connection, ids: Sequence[str]) -> None:
    """Take the contacts' row locks, in id order (so two writers never wait on each other
    in a circle). On PostgreSQL a row lock; on SQLite the writer already holds the
    database (``Store.write`` begins an immediate transaction under the process's lock)."""
    if ids and conn.dialect.name == "postgresql":
        conn.execute(Q_LOCK, {"ids": sorted(set(ids))})


def scoring_time(conn: sa.Connection, ids: Sequence[str]) -> datetime:
    """The time a live write scores as of, read once the contacts' locks are held.

    Every event committed for these contacts was committed before the locks were granted,
    so it lies at or before this time: a request that waited behind a later one never
    scores as of a moment before an event that is already stored (the later event would be
    left out of its score). The latest stored event time is a floor too, against clocks
    that differ between the service's processes by a few milliseconds.
    """
    now = datetime.now(UTC)
    if not ids:
        return now
    latest = conn.execute(Q_LATEST_EVENT, {"ids": sorted(set(ids))}).scalar()
    if latest is None:
        return now
    latest = latest.replace(tzinfo=UTC) if latest.tzinfo is None else latest.astimezone(UTC)
    return max(now, latest)


@lru_cache(maxsize=8)
def _score_update(columns: tuple[str, ...]) -> sa.Update:
    s = T.scores.c
    return (
        sa.update(T.scores)
        .where(s.contact_id == sa.bindparam("b_cid"), s.model_name == sa.bindparam("b_model"))
        .values({k: sa.bindparam(k) for k in columns})
    )


def load_inputs(
    conn: sa.Connection, ids: Sequence[str], *, lock: bool = False, as_of: datetime | None = None
):
    """Contacts, their events and adjustments, for a set of contact ids."""
    params: dict[str, Any] = {"ids": list(ids)}
    locked = lock and conn.dialect.name == "postgresql"
    contacts = {r.id: r for r in conn.execute(Q_CONTACTS_LOCKED if locked else Q_CONTACTS, params)}
    if as_of is not None:
        params["as_of"] = as_of
    events: dict[str, list[Any]] = defaultdict(list)
    for r in conn.execute(Q_EVENTS if as_of is None else Q_EVENTS_AS_OF, params):
        events[r.contact_id].append(r)
    adjustments: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in conn.execute(Q_ADJUSTMENTS if as_of is None else Q_ADJUSTMENTS_AS_OF, params):
        adjustments[r.contact_id].append(r._asdict())
    return contacts, events, adjustments


def score_one(
    pub: Published,
    contact: Any,
    events: list[Any],
    adjustments: list[dict[str, Any]],
    as_of: datetime,
    prediction: Prediction | None = None,
    *,
    predict: bool = True,
    account: dict[str, Any] | None = None,
) -> Adjusted:
    """One contact under one model: rule groups, the ``predicted`` group when the model
    declares a trained model (``prediction`` if computed already), then adjustments.

    ``predict=False`` leaves the predicted group out (a few tens of milliseconds saved
    per call): for callers that need only the total of a model whose predicted
    ``weight`` is 0, such as a chart of the total over time. ``account`` holds the
    ``account.<field>`` values the contact's rules read (see ``service/accounts.py``).
    """
    record, evs = contact_record(contact), to_events(events)
    if account is not None:
        record = with_account(record, account)
    result = score_contact(P.engine_model(pub.model), record, evs, as_of=as_of)
    if pub.model.predicted is not None and predict:
        if prediction is None:
            prediction = P.predict(pub.model, pub.models_root, [(record, evs)], as_of)[0]
        result = P.add_predicted(pub.model, result, prediction)
    mine = [a for a in adjustments if a["model_name"] in (None, pub.name)]
    return replace(apply_adjustments(pub.model, result, mine), pub=pub)


def rescore(
    conn: sa.Connection,
    contact_ids: Iterable[str],
    models: Sequence[Published],
    *,
    cause: str,
    now: datetime | None,
    hysteresis: float = 0.0,
    fire: bool = True,
    detail: dict[str, Any] | None = None,
    accounts: Iterable[str] = (),
    changed_accounts: Iterable[str] = (),
) -> dict[str, dict[str, Adjusted]]:
    """Rescore contacts under every model given; write scores, history and outbox rows.

    ``now=None`` is a live write: the contacts are locked first and scored as of
    :func:`scoring_time`. A time given is used as it is (a replay, the demo's past weeks,
    a sweep asked for a time).

    Under a model that scores accounts or reads them, the contacts' accounts are
    rescored too (and ``accounts``: ones that gained or lost contacts; and
    ``changed_accounts``: ones whose properties changed), then the contacts whose
    account-reading rules change with them (see ``service/accounts.py``).
    """
    from .accounts import account_aware, cascade

    ids = sorted(set(contact_ids))
    out: dict[str, dict[str, Adjusted]] = {}
    plain = [p for p in models if not account_aware(p)]
    aware = [p for p in models if account_aware(p)]
    accounts, changed_accounts = set(accounts), set(changed_accounts)
    if not models or not (ids or ((accounts or changed_accounts) and aware)):
        return out
    if now is None:
        lock_contacts(conn, ids)
        now = scoring_time(conn, ids)
    options = Writing(cause, now, hysteresis, fire, detail or {})
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        if plain:
            contacts, scored = compute(conn, chunk, plain, now)
            write_scores(conn, contacts, scored, options)
            _merge(out, scored)
    if aware:
        _merge(out, cascade(conn, ids, aware, options, accounts, changed_accounts))
    return out


CHUNK = 500


@dataclass(frozen=True)
class Writing:
    """How a rescoring writes: why, when, the hysteresis band, whether triggers fire.
    ``now`` None (for a page-by-page rescoring) means each page's live scoring time."""

    cause: str
    now: datetime | None
    hysteresis: float = 0.0
    fire: bool = True
    detail: dict[str, Any] = field(default_factory=dict)


def _merge(out: dict, scored: dict) -> None:
    for cid, by_model in scored.items():
        out.setdefault(cid, {}).update(by_model)


def predictions(
    models: Sequence[Published], contacts: list[Any], events: dict[str, list[Any]], now: datetime
) -> dict[tuple[str, str], Prediction]:
    """Predicted scores of contacts (rows) by (model name, contact id): one batch per
    model that declares a trained model."""
    out: dict[tuple[str, str], Prediction] = {}
    for pub in models:
        if pub.model.predicted is None or not contacts:
            continue
        pairs = [(contact_record(c), to_events(events.get(c.id, []))) for c in contacts]
        for c, pred in zip(
            contacts, P.predict(pub.model, pub.models_root, pairs, now), strict=True
        ):
            out[(pub.name, c.id)] = pred
    return out


def compute(
    conn: sa.Connection,
    ids: Sequence[str],
    models: Sequence[Published],
    now: datetime,
    fields: dict[tuple[str, str], dict[str, Any]] | None = None,
    *,
    lock: bool = True,
    inputs_as_of: datetime | None = None,
) -> tuple[dict[str, Any], dict[str, dict[str, Adjusted]]]:
    """Score contacts (locking their rows on PostgreSQL) without writing anything:
    their rows, and each one's result by model. ``fields`` gives, by (model name,
    contact id), the ``account.<field>`` values the contact reads; ``inputs_as_of``
    reads only the events and adjustments up to that time."""
    contacts, events, adjustments = load_inputs(conn, ids, lock=lock, as_of=inputs_as_of)
    predicted = predictions(models, [contacts[c] for c in ids if c in contacts], events, now)
    out: dict[str, dict[str, Adjusted]] = {}
    for cid in ids:
        contact = contacts.get(cid)
        if contact is None:
            continue
        for pub in models:
            out.setdefault(cid, {})[pub.name] = score_one(
                pub,
                contact,
                events.get(cid, []),
                adjustments.get(cid, []),
                now,
                predicted.get((pub.name, cid)),
                account=(fields or {}).get((pub.name, cid), {} if fields is not None else None),
            )
    return contacts, out


HISTORY_DECIMALS = 1  # totals as people see them: the web pages and the CRM fields


def shown(total: float) -> float:
    """A total rounded as it is shown (one decimal), what history compares."""
    return round(float(total), HISTORY_DECIMALS)


def recorded_change(
    old: Any, total: float, grade: str | None, stage: str | None, excluded: bool, version: int
) -> bool:
    """Whether a new score is worth a history row against the stored one ``old`` (a
    scores or account_scores row, None for a first score): the shown total, the grade,
    the stage, the excluded flag or the model version differs. A decay step that
    moves only hidden decimals changes the current score, not the history."""
    return old is None or (
        shown(old.total) != shown(total)
        or (old.grade, old.stage, old.excluded, old.version) != (grade, stage, excluded, version)
    )


def last_recorded(conn: sa.Connection, table: sa.Table, key: str, rows: list[dict]) -> None:
    """Set each history row's ``old_total`` to the total its previous history row
    recorded (not the current score, which moves between rows), so a chart of the
    history joins up: one row's old total is the previous row's new total."""
    h = table.c
    pairs = {(r[key], r["model_name"]) for r in rows if r["old_total"] is not None}
    if not pairs:
        return
    ids, names = sorted({p[0] for p in pairs}), sorted({p[1] for p in pairs})
    latest = (
        sa.select(sa.func.max(h.id))
        .where(h[key].in_(ids), h.model_name.in_(names))
        .group_by(h[key], h.model_name)
    )
    found = {
        (r[0], r[1]): r[2]
        for r in conn.execute(
            sa.select(h[key], h.model_name, h.new_total).where(h.id.in_(latest.scalar_subquery()))
        )
    }
    for r in rows:
        before = found.get((r[key], r["model_name"]))
        if r["old_total"] is not None and before is not None:
            r["old_total"] = before


def write_scores(
    conn: sa.Connection,
    contacts: dict[str, Any],
    scored: dict[str, dict[str, Adjusted]],
    options: Writing,
) -> None:
    """Replace the current scores, add history where a shown value changed (see
    :func:`recorded_change`), check triggers (on every change: they read the exact
    current scores)."""
    ids = sorted(scored)
    names = sorted({m for by_model in scored.values() for m in by_model})
    if not ids:
        return
    current = {
        (r.contact_id, r.model_name): r
        for r in conn.execute(Q_SCORES, {"ids": ids, "names": names})
    }
    checks: list[TriggerCheck] = []
    inserts, updates, history = [], [], []
    now, cause, detail = options.now, options.cause, options.detail
    for cid in ids:
        contact = contacts[cid]
        for name, adj in scored[cid].items():
            pub = adj.pub
            assert pub is not None, "a result written is one score_one gave"
            res = adj.result
            row = {
                "contact_id": cid,
                "model_name": name,
                "version": pub.version,
                "total": adj.total,
                "grade": res.grade,
                "stage": adj.stage,
                "excluded": res.excluded,
                "groups": res.groups,
                "breakdown": adj.breakdown,
                "adjustment": adj.adjustment,
                "scored_at": now,
            }
            old = current.get((cid, name))
            (updates if old is not None else inserts).append(row)
            if recorded_change(old, adj.total, res.grade, adj.stage, res.excluded, pub.version):
                history.append(
                    {
                        "contact_id": cid,
                        "model_name": name,
                        "version": pub.version,
                        "at": now,
                        "cause": cause,
                        "old_total": None if old is None else old.total,
                        "new_total": adj.total,
                        "old_stage": None if old is None else old.stage,
                        "new_stage": adj.stage,
                        "old_grade": None if old is None else old.grade,
                        "new_grade": res.grade,
                        "detail": {
                            **detail,
                            "groups": res.groups,
                            "excluded": res.excluded,
                            "exclusion_reasons": list(res.exclusion_reasons),
                            "adjustment": adj.adjustment,
                        },
                    }
                )
            checks.append(TriggerCheck(pub, contact, adj))
    if inserts:
        conn.execute(sa.insert(T.scores), inserts)
    if updates:
        conn.execute(
            _score_update(tuple(k for k in updates[0] if k not in ("contact_id", "model_name"))),
            [{**u, "b_cid": u["contact_id"], "b_model": u["model_name"]} for u in updates],
        )
    if history:
        last_recorded(conn, T.score_history, "contact_id", history)
        conn.execute(sa.insert(T.score_history), history)
    if checks:
        check_triggers(
            conn,
            checks,
            now=now,
            default_hysteresis=options.hysteresis,
            fire=options.fire,
        )

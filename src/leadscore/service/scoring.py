"""Contacts' scores in the service: read from the store and computed, never written.

The contact, its events and its manual adjustments are read (:func:`load_inputs`),
scored with the in-process evaluator under a published model (:func:`score_one`:
rule groups, the ``predicted`` group, then the adjustments) and returned as an
:class:`Adjusted`. Nothing here writes: :mod:`.writes` stores the results,
:mod:`.triggers` checks them, :mod:`.accounts` rolls contacts up into accounts and
:func:`.rescoring.rescore` puts it all together inside the caller's transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..engine import spine
from ..engine import values as V
from ..engine.horizon import Horizon, lookback
from ..engine.inprocess import score_contact
from ..engine.result import Event, ScoreResult
from ..model.accounts import ACCOUNT
from ..model.schema import ScoringModel
from ..store import tables as T
from . import predicted as P
from . import stages as S
from .published import Published
from .stages import StageFact

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
    # what may change the rule groups' score by time alone (None: not known, e.g. a
    # trained model's score, which reads event recency): see service/horizons.py
    horizon: Horizon | None = None
    # the contact's recorded stage after this scoring, when it entered one (service/stages.py)
    entry: StageFact | None = None


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
    spined = spine.adjusted(model, result.groups, result.total, result.grade, points, result.phase)
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
_SINCE = sa.bindparam("since")
Q_EVENTS_SINCE = (
    sa.select(T.events)
    .where(T.events.c.contact_id.in_(_IDS), T.events.c.ts >= _SINCE)
    .order_by(*_EV_ORDER)
)
Q_EVENTS_BETWEEN = (
    sa.select(T.events)
    .where(T.events.c.contact_id.in_(_IDS), T.events.c.ts >= _SINCE, T.events.c.ts <= _AS_OF)
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
Q_LOCK = (
    sa.select(T.contacts.c.id)
    .where(T.contacts.c.id.in_(_IDS))
    .order_by(T.contacts.c.id)
    .with_for_update()
)
_CC, _AC = T.contacts.c, T.accounts.c
# the accounts the contacts link to (engine/linking.py: the account_id given, else the
# e-mail's domain), locked before the contacts: see lock_contacts
Q_LOCK_ACCOUNTS = (
    sa.select(_AC.id)
    .where(
        sa.or_(
            _AC.id.in_(sa.select(_CC.account_ref).where(_CC.id.in_(_IDS))),
            _AC.domain.in_(
                sa.select(_CC.email_domain).where(_CC.id.in_(_IDS), _CC.account_ref.is_(None))
            ),
        )
    )
    .order_by(_AC.id)
    .with_for_update()
)
Q_LATEST_EVENT = sa.select(sa.func.max(T.events.c.ts)).where(T.events.c.contact_id.in_(_IDS))


def lock_contacts(conn: sa.Connection, ids: Sequence[str]) -> None:
    """Take the contacts' row locks, in id order (so two writers never wait on each other
    in a circle). On PostgreSQL a row lock; on SQLite the writer already holds the
    database (``Store.write`` begins an immediate transaction under the process's lock).

    Their accounts are locked first: a write whose account scores move rescores the
    account's other contacts, locking them while it holds the account; a writer that
    held one of them while waiting for the account would close a circle."""
    if ids and conn.dialect.name == "postgresql":
        params = {"ids": sorted(set(ids))}
        conn.execute(Q_LOCK_ACCOUNTS, params)
        conn.execute(Q_LOCK, params)


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


def load_inputs(
    conn: sa.Connection,
    ids: Sequence[str],
    *,
    lock: bool = False,
    as_of: datetime | None = None,
    since: datetime | None = None,
):
    """Contacts, their events and adjustments, for a set of contact ids: the events up
    to ``as_of`` when given, and from ``since`` on when given (older ones count for
    nothing under the models at hand: see :func:`lookback_start`)."""
    params: dict[str, Any] = {"ids": list(ids)}
    locked = lock and conn.dialect.name == "postgresql"
    contacts = {r.id: r for r in conn.execute(Q_CONTACTS_LOCKED if locked else Q_CONTACTS, params)}
    if as_of is not None:
        params["as_of"] = as_of
    if since is not None:
        params["since"] = since
        query = Q_EVENTS_SINCE if as_of is None else Q_EVENTS_BETWEEN
    else:
        query = Q_EVENTS if as_of is None else Q_EVENTS_AS_OF
    events: dict[str, list[Any]] = defaultdict(list)
    for r in conn.execute(query, params):
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
    horizon: bool = True,
    stage: StageFact | None = None,
) -> Adjusted:
    """One contact under one model: rule groups, the ``predicted`` group when the model
    declares a trained model (``prediction`` if computed already), then adjustments.

    ``predict=False`` leaves the predicted group out (a few tens of milliseconds saved
    per call): for callers that need only the total of a model whose predicted
    ``weight`` is 0, such as a chart of the total over time. ``account`` holds the
    ``account.<field>`` values the contact's rules read (see ``service/accounts.py``).
    ``horizon=False`` skips noting what may change the score later (for a score that
    is only shown, never stored). ``stage`` is the contact's recorded stage under the
    model (:mod:`.stages`): its phase and entry time when the model keeps stages; the
    result's ``entry`` is the record after this scoring when it changed.
    """
    own, evs = contact_record(contact), to_events(events)
    record = S.inputs_of(pub.model, own, stage)
    if account is not None:
        record = with_account(record, account)
    ahead = Horizon(V.timestamp(as_of)) if horizon and pub.model.predicted is None else None
    result = score_contact(P.engine_model(pub.model), record, evs, as_of=as_of, horizon=ahead)
    if pub.model.predicted is not None and predict:
        if prediction is None:
            prediction = P.predict(pub.model, pub.models_root, [(record, evs)], as_of)[0]
        result = P.add_predicted(pub.model, result, prediction)
    mine = [a for a in adjustments if a["model_name"] in (None, pub.name)]
    adj = apply_adjustments(pub.model, result, mine)
    fact = S.entry(pub.model, own, stage, adj.stage, result.phase, as_of, pub.version)
    return replace(adj, pub=pub, horizon=ahead, entry=fact)


CHUNK = 500


def lookback_start(models: Sequence[Published], as_of: datetime) -> datetime | None:
    """The earliest event time that can count, as of ``as_of``, under any of the models:
    when every rule, frequency rule and exclusion that reads events has a window, older
    events count for nothing (not even in a breakdown's counts), so scoring reads only
    the events of the longest window, not the contact's whole history. None: every
    event may count."""
    spans = [lookback(p.model) for p in models]
    if not spans or any(s is None for s in spans):
        return None
    return as_of - timedelta(seconds=max(s for s in spans if s is not None))


def predictions(
    models: Sequence[Published],
    contacts: list[Any],
    events: dict[str, list[Any]],
    as_of: datetime,
) -> dict[tuple[str, str], Prediction]:
    """Predicted scores of contacts (rows) by (model name, contact id): one batch per
    model that declares a trained model."""
    out: dict[tuple[str, str], Prediction] = {}
    for pub in models:
        if pub.model.predicted is None or not contacts:
            continue
        pairs = [(contact_record(c), to_events(events.get(c.id, []))) for c in contacts]
        for c, pred in zip(
            contacts, P.predict(pub.model, pub.models_root, pairs, as_of), strict=True
        ):
            out[(pub.name, c.id)] = pred
    return out


def compute(
    conn: sa.Connection,
    ids: Sequence[str],
    models: Sequence[Published],
    as_of: datetime,
    fields: dict[tuple[str, str], dict[str, Any]] | None = None,
    *,
    lock: bool = True,
    cut_inputs: bool = False,
) -> tuple[dict[str, Any], dict[str, dict[str, Adjusted]]]:
    """Score contacts as of ``as_of`` (locking their rows on PostgreSQL) without writing
    anything: their rows, and each one's result by model. ``fields`` gives, by (model
    name, contact id), the ``account.<field>`` values the contact reads; ``cut_inputs``
    reads only the events and adjustments up to ``as_of`` (a preview or a past score)."""
    contacts, events, adjustments = load_inputs(
        conn,
        ids,
        lock=lock,
        as_of=as_of if cut_inputs else None,
        since=lookback_start(models, as_of),
    )
    predicted = predictions(models, [contacts[c] for c in ids if c in contacts], events, as_of)
    facts = S.load(conn, [c for c in ids if c in contacts], [p.name for p in models])
    if cut_inputs:  # a past score reads the stages entered by then
        facts = {k: f for k, f in facts.items() if f.entered_at <= as_of}
    out: dict[str, dict[str, Adjusted]] = {}
    for cid in ids:
        contact = contacts.get(cid)
        if contact is None:
            continue
        for pub in models:
            fact = facts.get((cid, pub.name))
            for _ in range(S.SETTLE_ROUNDS):
                adj = score_one(
                    pub,
                    contact,
                    events.get(cid, []),
                    adjustments.get(cid, []),
                    as_of,
                    predicted.get((pub.name, cid)),
                    account=(fields or {}).get((pub.name, cid), {} if fields is not None else None),
                    stage=fact,
                )
                if adj.entry is None or not S.rescores(pub.model, fact, adj.entry):
                    break
                fact = adj.entry  # entered at once: score again from the entry
            if adj.entry is None and fact is not None and fact.changed:
                adj = replace(adj, entry=fact)  # the last round kept what an earlier recorded
            out.setdefault(cid, {})[pub.name] = adj
    return contacts, out

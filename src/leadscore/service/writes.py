"""Writing fresh scores inside the caller's transaction: contacts' and accounts'.

Each write replaces the current score, adds a history row where a value as people
see it changed (:func:`recorded_change`) and hands the new scores to the trigger
checks (:func:`~.triggers.check_triggers`), which read the exact current values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache, partial
from typing import Any

import sqlalchemy as sa

from ..engine.accounts import AccountResult
from ..store import tables as T
from . import stages
from .horizons import due
from .published import Published
from .scoring import Adjusted
from .triggers import TriggerCheck, check_triggers

_IDS = sa.bindparam("ids", expanding=True)
_NAMES = sa.bindparam("names", expanding=True)

Q_SCORES = sa.select(T.scores).where(
    T.scores.c.contact_id.in_(_IDS), T.scores.c.model_name.in_(_NAMES)
)
_AS = T.account_scores.c


@dataclass(frozen=True)
class Writing:
    """How a rescoring writes: why, the time scored as of, the hysteresis band, whether
    triggers fire. ``as_of`` None (for a page-by-page rescoring) means each page's live
    scoring time (:func:`~.scoring.scoring_time`)."""

    cause: str
    as_of: datetime | None
    hysteresis: float = 0.0
    fire: bool = True
    detail: dict[str, Any] = field(default_factory=dict)


@lru_cache(maxsize=8)
def _score_update(columns: tuple[str, ...]) -> sa.Update:
    s = T.scores.c
    return (
        sa.update(T.scores)
        .where(s.contact_id == sa.bindparam("b_cid"), s.model_name == sa.bindparam("b_model"))
        .values({k: sa.bindparam(k) for k in columns})
    )


HISTORY_DECIMALS = 1  # totals as people see them: the web pages and the CRM fields
MODEL_CAUSES = frozenset({"publish", "rollback"})
"""History causes of a rescoring by a model change, not by anything the contact did:
counted apart from the stage entries on the dashboard (see :func:`behaviour_entries`)
and recorded only where the contact's shown score, grade, stage or exclusion moved."""


def shown(total: float) -> float:
    """A total rounded as it is shown (one decimal), what history compares."""
    return round(float(total), HISTORY_DECIMALS)


def recorded_change(
    old: Any,
    total: float,
    grade: str | None,
    stage: str | None,
    excluded: bool,
    version: int,
    *,
    cause: str = "",
) -> bool:
    """Whether a new score is worth a history row against the stored one ``old`` (a
    scores or account_scores row, None for a first score): the shown total, the grade,
    the stage, the excluded flag or the model version differs. A decay step that
    moves only hidden decimals changes the current score, not the history. A publish
    or roll back (:data:`MODEL_CAUSES`) that leaves everything people see as it was
    adds no row either, though the version changes: one row at most per contact,
    and none for the contacts the new version scores the same."""
    if old is None:
        return True
    seen = shown(old.total) != shown(total) or (old.grade, old.stage, old.excluded) != (
        grade,
        stage,
        excluded,
    )
    return seen or (old.version != version and cause not in MODEL_CAUSES)


def _previous(old: Any, cause: str) -> dict[str, int]:
    """A publish's or roll back's history row names the version it replaced."""
    return {"previous_version": old.version} if old is not None and cause in MODEL_CAUSES else {}


def behaviour_entries(history: sa.Table) -> sa.ColumnElement[bool]:
    """The history rows a contact's (or account's) own change caused: not a model's
    publish or roll back, which moves stages without anything happening to anyone."""
    return history.c.cause.not_in(sorted(MODEL_CAUSES))


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
    :func:`recorded_change`), record the stages entered (:mod:`.stages`), check
    triggers (on every change: they read the exact current scores)."""
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
    entries: dict[tuple[str, str], stages.StageFact] = {}
    as_of, cause, detail = options.as_of, options.cause, options.detail
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
                "scored_at": as_of,
                "next_change": due(adj, options.hysteresis, HISTORY_DECIMALS),
            }
            old = current.get((cid, name))
            (updates if old is not None else inserts).append(row)
            if recorded_change(
                old, adj.total, res.grade, adj.stage, res.excluded, pub.version, cause=cause
            ):
                history.append(
                    {
                        "contact_id": cid,
                        "model_name": name,
                        "version": pub.version,
                        "at": as_of,
                        "cause": cause,
                        "old_total": None if old is None else old.total,
                        "new_total": adj.total,
                        "old_stage": None if old is None else old.stage,
                        "new_stage": adj.stage,
                        "old_grade": None if old is None else old.grade,
                        "new_grade": res.grade,
                        "detail": {
                            **detail,
                            **_previous(old, cause),
                            "groups": res.groups,
                            "excluded": res.excluded,
                            "exclusion_reasons": list(res.exclusion_reasons),
                            "adjustment": adj.adjustment,
                        },
                    }
                )
            checks.append(TriggerCheck(pub, contact, adj))
            if adj.entry is not None and adj.entry.changed:
                entries[(cid, name)] = adj.entry
    if entries:
        stages.write(conn, entries)
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
            as_of=as_of,
            default_hysteresis=options.hysteresis,
            fire=options.fire,
        )


# ----------------------------------------------------------------------------- accounts


@dataclass(frozen=True)
class AccountScore:
    """An account's result as the trigger checks read a score (no adjustments)."""

    result: AccountResult
    # what each contact gave the roll-ups, when the result does not name them all
    given: Callable[[], dict[str, float]] | None = None

    @property
    def total(self) -> float:
        return self.result.total

    def contributions(self) -> dict[str, float]:
        return self.result.contributions() if self.given is None else self.given()

    @property
    def stage(self) -> str | None:
        return self.result.stage


def _given(
    conn: sa.Connection, model: Any, account: str, breakdown: list[dict[str, Any]]
) -> dict[str, float]:
    from .rollups import with_contributions

    out: dict[str, float] = {}
    for hit in with_contributions(conn, model, account, breakdown):
        for c in hit.get("contributions") or ():
            out[c["contact_id"]] = out.get(c["contact_id"], 0.0) + c["points"]
    return out


def write_account_scores(
    conn: sa.Connection,
    pub: Published,
    results: dict[str, AccountResult],
    rows: dict[str, Any],
    current: dict[str, Any],
    options: Writing,
) -> None:
    """Replace the accounts' current scores, add history where a shown value changed
    (as for contacts: :func:`recorded_change`), check the account triggers."""
    inserts, updates, history, checks = [], [], [], []
    from .rollups import stored_form

    for aid in sorted(results):
        res = stored_form(pub.model, results[aid])
        row = {
            "account_id": aid,
            "model_name": pub.name,
            "version": pub.version,
            "total": res.total,
            "grade": res.grade,
            "stage": res.stage,
            "excluded": res.excluded,
            "groups": res.groups,
            "breakdown": [h.model_dump() for h in res.breakdown],
            "contacts": res.contacts,
            "scored_at": options.as_of,
        }
        old = current.get(aid)
        (updates if old is not None else inserts).append(row)
        if recorded_change(
            old, res.total, res.grade, res.stage, res.excluded, pub.version, cause=options.cause
        ):
            history.append(
                {
                    "account_id": aid,
                    "model_name": pub.name,
                    "version": pub.version,
                    "at": options.as_of,
                    "cause": options.cause,
                    "old_total": None if old is None else old.total,
                    "new_total": res.total,
                    "old_stage": None if old is None else old.stage,
                    "new_stage": res.stage,
                    "old_grade": None if old is None else old.grade,
                    "new_grade": res.grade,
                    "detail": {
                        **options.detail,
                        **_previous(old, options.cause),
                        "groups": res.groups,
                        "contacts": res.contacts,
                        "excluded": res.excluded,
                        "exclusion_reasons": list(res.exclusion_reasons),
                    },
                }
            )
        given = partial(_given, conn, pub.model, aid, row["breakdown"])
        checks.append(TriggerCheck(pub, rows[aid], AccountScore(res, given), kind="account"))
    if inserts:
        conn.execute(sa.insert(T.account_scores), inserts)
    if updates:
        conn.execute(
            sa.update(T.account_scores)
            .where(
                _AS.account_id == sa.bindparam("b_aid"), _AS.model_name == sa.bindparam("b_model")
            )
            .values(
                {k: sa.bindparam(k) for k in updates[0] if k not in ("account_id", "model_name")}
            ),
            [{**u, "b_aid": u["account_id"], "b_model": u["model_name"]} for u in updates],
        )
    if history:
        last_recorded(conn, T.account_score_history, "account_id", history)
        conn.execute(sa.insert(T.account_score_history), history)
    check_triggers(
        conn, checks, as_of=options.as_of, default_hysteresis=options.hysteresis, fire=options.fire
    )

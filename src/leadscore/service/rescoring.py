"""Rescoring contacts inside a write transaction: where every score change ends.

Every change that can move a score (an event, a property update, an
adjustment, a publish, the time sweep) ends here: the contacts are scored with
the in-process evaluator under each published model, manual adjustments are
added (:mod:`.scoring`), the current scores are replaced, the change is written to
the history and the triggers are checked (:mod:`.writes`), with the contacts'
accounts rolled up and rescored under the models that score or read accounts
(:mod:`.accounts`) — all in the caller's transaction, so a crash leaves either
everything or nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .accounts import account_aware, cascade
from .published import Published
from .scoring import CHUNK, Adjusted, compute, lock_contacts, scoring_time
from .writes import Writing, write_scores


def rescore(
    conn: sa.Connection,
    contact_ids: Iterable[str],
    models: Sequence[Published],
    *,
    cause: str,
    as_of: datetime | None,
    hysteresis: float = 0.0,
    fire: bool = True,
    detail: dict[str, Any] | None = None,
    accounts: Iterable[str] = (),
    changed_accounts: Iterable[str] = (),
) -> dict[str, dict[str, Adjusted]]:
    """Rescore contacts under every model given; write scores, history and outbox rows.

    ``as_of=None`` is a live write: the contacts are locked first and scored as of
    :func:`~.scoring.scoring_time`. A time given is used as it is (a replay, the demo's past weeks,
    a sweep asked for a time).

    Under a model that scores accounts or reads them, the contacts' accounts are
    rescored too (and ``accounts``: ones that gained or lost contacts; and
    ``changed_accounts``: ones whose properties changed), then the contacts whose
    account-reading rules change with them (see :mod:`.accounts`).
    """
    ids = sorted(set(contact_ids))
    out: dict[str, dict[str, Adjusted]] = {}
    plain = [p for p in models if not account_aware(p)]
    aware = [p for p in models if account_aware(p)]
    accounts, changed_accounts = set(accounts), set(changed_accounts)
    if not models or not (ids or ((accounts or changed_accounts) and aware)):
        return out
    if as_of is None:
        lock_contacts(conn, ids)
        as_of = scoring_time(conn, ids)
    options = Writing(cause, as_of, hysteresis, fire, detail or {})
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        if plain:
            contacts, scored = compute(conn, chunk, plain, as_of)
            write_scores(conn, contacts, scored, options)
            _merge(out, scored)
    if aware:
        _merge(out, cascade(conn, ids, aware, options, accounts, changed_accounts))
    return out


def _merge(out: dict[str, dict[str, Adjusted]], scored: dict[str, dict[str, Adjusted]]) -> None:
    for cid, by_model in scored.items():
        out.setdefault(cid, {}).update(by_model)

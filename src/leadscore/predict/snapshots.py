"""Training snapshots without bias: when each contact without an outcome time is seen.

With an outcome-time column, a contact that has an outcome time is seen just
before it. Seeing every other contact at the end of the data would show a
model converters young (at their conversion) and the others old, and it would
learn when the clock stopped (e-mails received, days since the first event)
rather than who converts. :func:`matched_cutoffs` draws their cut-offs
instead, at moments of their life drawn like the timed contacts'.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlglot import exp

from ..data.io import Inputs
from .features import _ident, _part, cutoff_expression
from .inmemory import epoch_us

#: a contact without an outcome time borrows the moment of its life at which one of
#: this many timed contacts nearest in lifetime was seen (see :func:`matched_cutoffs`)
MATCHED_NEIGHBOURS = 25
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class Snapshots:
    """Training cut-offs drawn by :func:`matched_cutoffs`, and how many of each kind."""

    ids: list[str]
    cutoffs: list[datetime]
    timed: int  # cut off at their own outcome time
    drawn: int  # cut off at a drawn moment of their life
    whole_history: int  # no events (or no timed contact to match): cut off at as_of

    def describe(self) -> dict[str, Any]:
        return {
            "method": "matched: at a drawn share of the lifetime",
            "at_outcome_time": self.timed,
            "at_a_drawn_moment": self.drawn,
            "whole_history": self.whole_history,
        }


def matched_cutoffs(inputs: Inputs, outcome_time: str, as_of: datetime, seed: int = 0) -> Snapshots:
    """Cut-offs for training so that every contact is seen at a moment of its life drawn
    like the moments at which timed contacts (those with an outcome time) are seen.

    A contact's *lifetime* is how long before ``as_of`` its first event was; its
    *age* at a time, how long after its first event that time is. A timed contact
    is cut off at its outcome time, a sample of the age at the outcome given the
    lifetime. Every other contact draws one of the :data:`MATCHED_NEIGHBOURS` timed
    contacts nearest to it in lifetime (uniformly, seeded) and is cut off at the
    same share of its own lifetime as that contact's age is of its lifetime. So
    both classes are seen at ages drawn from the same distribution, given the
    lifetime, whatever its shape (an age that does not depend on the lifetime, or
    one that grows with it). A contact without events is cut off at ``as_of``.
    """
    end_us = epoch_us(as_of) + 1
    ot = exp.column(_ident(outcome_time), "c")
    query = _part(
        "SELECT c.id, epoch_us(TRY_CAST(:ot AS TIMESTAMPTZ)) AS t, "
        "(SELECT epoch_us(min(e.ts)) FROM events AS e WHERE e.contact_id = c.id "
        "AND e.ts < coalesce(TRY_CAST(:ot AS TIMESTAMPTZ), :end)) AS first "
        "FROM contacts AS c ORDER BY c.id",
        ot=ot,
        end=cutoff_expression(None),
    )
    rows = inputs.con.execute(query.sql(dialect="duckdb"), [as_of.isoformat()]).fetchall()
    pairs = sorted(
        (end_us - f, (t - f) / max(end_us - f, 1))
        for _, t, f in rows
        if t is not None and f is not None and f < t
    )
    lifetimes = np.array([p[0] for p in pairs], dtype=np.float64)
    shares = np.array([min(p[1], 1.0) for p in pairs], dtype=np.float64)
    k = min(MATCHED_NEIGHBOURS, len(pairs))
    ids = [r[0] for r in rows]
    has_t = np.array([r[1] is not None for r in rows], dtype=bool)
    has_first = np.array([r[2] is not None for r in rows], dtype=bool)
    times = np.array([r[1] or 0 for r in rows], dtype=np.int64)
    firsts = np.array([r[2] or 0 for r in rows], dtype=np.int64)
    cut = np.full(len(rows), end_us, dtype=np.int64)
    cut[has_t] = times[has_t]
    todo = ~has_t & has_first & (k > 0)
    if todo.any():
        lives = (end_us - firsts[todo]).astype(np.float64)
        # the k timed lifetimes nearest to each: within k places of it in the sorted list
        at = np.searchsorted(lifetimes, lives)
        window = at[:, None] + np.arange(-k, k)[None, :]
        inside = (window >= 0) & (window < len(pairs))
        gap = np.abs(lifetimes[np.clip(window, 0, len(pairs) - 1)] - lives[:, None])
        order = np.argsort(np.where(inside, gap, np.inf), axis=1, kind="stable")[:, :k]
        nearest = np.take_along_axis(window, order, axis=1)
        rng = np.random.default_rng(seed)
        picked = nearest[np.arange(len(lives)), rng.integers(k, size=len(lives))]
        steps = np.maximum(1, np.round(shares[picked] * lives)).astype(np.int64)
        cut[todo] = firsts[todo] + steps
    timed = int(has_t.sum())
    drawn = int(todo.sum())
    whole = len(rows) - timed - drawn
    cut_us = cut.tolist()
    cutoffs = [EPOCH + timedelta(microseconds=int(u)) for u in cut_us]
    return Snapshots(ids, cutoffs, timed, drawn, whole)

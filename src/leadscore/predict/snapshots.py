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
    rng = np.random.default_rng(seed)
    ids, cut_us = [], []
    timed = drawn = whole = 0
    for cid, t, first in rows:
        ids.append(cid)
        if t is not None:
            cut_us.append(t)
            timed += 1
            continue
        if first is None or k == 0:
            cut_us.append(end_us)
            whole += 1
            continue
        life = end_us - first
        # the k timed lifetimes nearest to this one: a window of the sorted lifetimes
        at = int(np.searchsorted(lifetimes, life))
        lo, hi = max(0, at - k), min(len(pairs), at + k)
        window = np.arange(lo, hi)
        nearest = window[np.argsort(np.abs(lifetimes[window] - life), kind="stable")[:k]]
        share = shares[nearest[rng.integers(k)]]
        cut_us.append(first + max(1, round(share * life)))
        drawn += 1
    cutoffs = [EPOCH + timedelta(microseconds=int(u)) for u in cut_us]
    return Snapshots(ids, cutoffs, timed, drawn, whole)

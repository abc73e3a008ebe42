"""The outcome a backtest measures against, and the time each contact is scored at.

Point-in-time rule: with an outcome time column, each contact is scored as of
one microsecond before its outcome time, so events at or after the outcome are
ignored. Contacts without an outcome time (typically those that did not
convert) are scored as of the cut-off. Without an outcome time column every
contact is scored as of the cut-off: pass ``--as-of`` a time before the outcomes
were known, or events that followed the outcome count towards the score.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from ..data.io import Inputs
from ..engine import values as V
from ..errors import DataError
from ..model.conditions import condition_fields
from ..model.schema import CompletenessRule, PropertyRule, ScoringModel
from .scoring import Selection

JUST_BEFORE = timedelta(microseconds=1)


@dataclass
class OutcomeSpec:
    column: str
    time_column: str | None
    cutoff: datetime
    cutoff_source: str  # how the cut-off was chosen, for the report
    missing: int = 0  # contacts left out: empty outcome
    positives: int = 0
    negatives: int = 0
    with_time: int = 0  # contacts scored as of their outcome time


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def check_outcome(inputs: Inputs, column: str, time_column: str | None, source: str) -> OutcomeSpec:
    """Check that the outcome column exists and holds two classes; count them."""
    for col, flag in ((column, "--outcome"), (time_column, "--outcome-time")):
        if col is not None and col not in inputs.properties:
            raise DataError(
                f"no outcome column {col!r}; the columns are: {', '.join(inputs.properties)}",
                source=source,
                hint=f"pass the right column name with {flag}",
            )
    rows = inputs.con.execute(
        f"SELECT {_q(column)} AS v, count(*) FROM contacts GROUP BY 1 ORDER BY 1"
    ).fetchall()
    spec = OutcomeSpec(column, time_column, datetime.min, "")
    bad = []
    for value, count in rows:
        if V.is_missing(value):
            spec.missing += count
            continue
        flag = V.boolean(value)
        if flag is None:
            bad.append(value)
        elif flag:
            spec.positives += count
        else:
            spec.negatives += count
    if bad:
        shown = ", ".join(repr(b) for b in bad[:5])
        raise DataError(
            f"the outcome column holds values that are not yes/no: {shown}",
            source=source,
            column=column,
            hint="the outcome must be binary: 1/0, true/false or yes/no; empty cells are "
            "unknown and left out",
        )
    if spec.positives == 0 or spec.negatives == 0:
        only = "converted" if spec.positives else "did not convert"
        raise DataError(
            f"every contact with an outcome {only} ({spec.positives + spec.negatives} "
            "contacts): metrics need both classes",
            source=source,
            column=column,
            hint="backtest on history that includes both converted and lost contacts",
        )
    if time_column is not None:
        bad_times = inputs.con.execute(
            f"SELECT id, {_q(time_column)} FROM contacts WHERE {_q(time_column)} IS NOT NULL "
            f"AND trim({_q(time_column)}) <> '' ORDER BY id"
        ).fetchall()
        problems = []
        for cid, value in bad_times:
            try:
                V.timestamp(value)
            except V.TimestampError:
                problems.append(f"{cid}: {value!r}")
                if len(problems) == 3:
                    break
        if problems:
            raise DataError(
                "outcome times that cannot be read: " + "; ".join(problems),
                source=source,
                column=time_column,
                hint="use ISO 8601, e.g. 2026-03-01T14:30:00Z; leave empty when unknown",
            )
    return spec


def default_cutoff(inputs: Inputs, as_of: datetime | None, now: datetime) -> tuple[datetime, str]:
    """``--as-of`` when given; else the latest event time (scores then do not depend
    on the day the backtest runs); else now."""
    if as_of is not None:
        return as_of, "--as-of"
    if inputs.has_events:
        latest = inputs.con.execute(
            "SELECT epoch_us(max(ts)) FROM events WHERE contact_id IN (SELECT id FROM contacts)"
        ).fetchone()[0]
        if latest is not None:
            return V.timestamp(0) + timedelta(microseconds=latest), "latest event"
    return now, "now (no events)"


def select_contacts(inputs: Inputs, spec: OutcomeSpec) -> Selection:
    """The contacts with a known outcome, in id order, with the time each is scored at.

    Each distinct outcome value is read once (:func:`values.boolean`), and only the
    filled outcome times are parsed."""
    columns = ["id", _q(spec.column)]
    if spec.time_column is not None:
        columns.append(_q(spec.time_column))
    query = f"SELECT {', '.join(columns)} FROM contacts ORDER BY id"
    data = list(inputs.con.execute(query).fetchnumpy().values())
    flags: dict = {}
    for value in data[1].tolist():
        if value not in flags:
            flag = V.boolean(value)
            flags[value] = -1.0 if flag is None else float(flag)
    y_all = np.array([flags[v] for v in data[1].tolist()], dtype=float)
    keep = np.flatnonzero(y_all >= 0)
    ids_all = data[0].tolist()
    times = [spec.cutoff] * len(keep)
    spec.with_time = 0
    if spec.time_column is not None:
        raw = data[2].tolist()
        for k, i in enumerate(keep.tolist()):
            if raw[i] is not None:
                t = V.optional_timestamp(raw[i])
                if t is not None:
                    spec.with_time += 1
                    times[k] = min(t - JUST_BEFORE, spec.cutoff)
    return Selection(ids=[ids_all[i] for i in keep], y=y_all[keep], as_of=times)


def everyone(inputs: Inputs, as_of: datetime) -> Selection:
    """Every contact, all as of one time (outcome unused)."""
    ids = [r[0] for r in inputs.con.execute("SELECT id FROM contacts ORDER BY id").fetchall()]
    return Selection(ids=ids, y=np.zeros(len(ids)), as_of=[as_of] * len(ids))


def properties_read(model: ScoringModel) -> set[str]:
    """Contact properties a model's rules and exclusions read."""
    out: set[str] = set()
    for _, rule in model.rules():
        if isinstance(rule, PropertyRule):
            if rule.when is not None:
                out |= condition_fields(rule.when)
            for case in rule.cases:
                out |= condition_fields(case.when)
        elif isinstance(rule, CompletenessRule):
            out |= set(rule.properties)
    for exc in model.exclusions:
        if exc.when is not None:
            out |= condition_fields(exc.when)
    return out

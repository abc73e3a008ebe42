"""The web app's reads: the filter choices and the dashboard's figures.

The leads list itself (sorting, pages, export) is ``leadscore.web.leadlist``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..store import tables as T
from ..store.web_tables import prop

C, S, E, H, D = T.contacts.c, T.scores.c, T.events.c, T.score_history.c, T.deliveries.c
SAMPLE_FOR_CHOICES = 5000  # contacts read to offer source and country choices


def choices(conn: sa.Connection, name: str) -> list[str]:
    """Values of a property seen in a sample of contacts (for the filter drop-downs)."""
    sample = sa.select(C.properties).limit(SAMPLE_FOR_CHOICES).subquery()
    values = conn.execute(sa.select(sample.c.properties[name].as_string()).distinct()).scalars()
    return sorted(v for v in values if v)


# ---------------------------------------------------------------- dashboard
def week_start(day: datetime) -> datetime:
    day = day.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def mqls_per_week(
    conn: sa.Connection, model: str, stages: list[str], weeks: int = 12, now: datetime | None = None
) -> list[tuple[datetime, int]]:
    """Contacts entering the MQL stage (or a stage above it) per week, from the history."""
    now = now or datetime.now(UTC)
    first = week_start(now) - timedelta(weeks=weeks - 1)
    rows = conn.execute(
        sa.select(H.at).where(
            H.model_name == model,
            H.at >= first,
            H.new_stage.in_(stages),
            sa.or_(H.old_stage.is_(None), H.old_stage.not_in(stages)),
        )
    ).scalars()
    counts = {first + timedelta(weeks=i): 0 for i in range(weeks)}
    for at in rows:
        start = week_start(at)
        if start in counts:
            counts[start] += 1
    return sorted(counts.items())


def score_distribution(
    conn: sa.Connection, model: str, low: float, high: float, bands: int = 10
) -> list[dict[str, Any]]:
    """Contacts and conversions per score band (conversion: the ``converted`` property)."""
    width = (high - low) / bands
    band = sa.func.floor((S.total - low) / width)
    converted = sa.cast(prop("converted"), sa.Text)
    rows = conn.execute(
        sa.select(
            band.label("band"),
            sa.func.count().label("n"),
            sa.func.sum(sa.case((converted.in_(["1", "true", "yes"]), 1), else_=0)).label("won"),
            sa.func.sum(sa.case((converted.is_not(None), 1), else_=0)).label("known"),
        )
        .select_from(T.scores.join(T.contacts, C.id == S.contact_id))
        .where(S.model_name == model, S.excluded.is_(False))
        .group_by(band)
    ).all()
    out = [
        {"low": low + i * width, "high": low + (i + 1) * width, "n": 0, "won": 0, "known": 0}
        for i in range(bands)
    ]
    for r in rows:
        i = min(max(int(r.band or 0), 0), bands - 1)
        out[i]["n"] += r.n
        out[i]["won"] += int(r.won or 0)
        out[i]["known"] += int(r.known or 0)
    for b in out:
        b["rate"] = b["won"] / b["known"] if b["known"] else None
    return out


def deliveries_by_trigger(conn: sa.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(D.model_name, D.trigger, D.status, sa.func.count().label("n"))
        .group_by(D.model_name, D.trigger, D.status)
        .order_by(D.model_name, D.trigger)
    ).all()
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        item = out.setdefault(
            (r.model_name, r.trigger),
            {"model": r.model_name, "trigger": r.trigger, "pending": 0, "delivered": 0, "dead": 0},
        )
        item[r.status] = item.get(r.status, 0) + r.n
    return list(out.values())

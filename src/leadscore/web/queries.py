"""The web app's reads: the leads list (keyset pagination) and the dashboard's figures.

The leads list reads the ``scores`` table in the order of its index
``ix_scores_model_total (model_name, total, contact_id)``, newest page after the
last row's ``(total, contact_id)`` (keyset pagination: no OFFSET, so page 1,000
costs what page 1 costs), joins the 50 contacts of the page by primary key and
looks up each one's last event through ``ix_events_contact_ts``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..store import tables as T
from ..store.web_tables import prop

C, S, E, H, D = T.contacts.c, T.scores.c, T.events.c, T.score_history.c, T.deliveries.c
PAGE_SIZE = 50
ACTIVITY = {
    "7d": ("active in the last 7 days", 7, True),
    "30d": ("active in the last 30 days", 30, True),
    "90d": ("active in the last 90 days", 90, True),
    "quiet90": ("no activity for 90 days", 90, False),
}
SAMPLE_FOR_CHOICES = 5000  # contacts read to offer source and country choices
SEARCH_LIMIT = 500  # contacts a name or company search may match


@dataclass
class LeadFilters:
    q: str = ""
    stage: str = ""
    grade: str = ""
    min_total: float | None = None
    max_total: float | None = None
    source: str = ""
    country: str = ""
    activity: str = ""
    after: str = ""  # keyset cursor: "<total>~<contact id>"

    @classmethod
    def from_query(cls, params: Any) -> LeadFilters:
        def num(name: str) -> float | None:
            raw = (params.get(name) or "").strip()
            try:
                return float(raw) if raw else None
            except ValueError:
                return None

        return cls(
            q=(params.get("q") or "").strip()[:200],
            stage=params.get("stage") or "",
            grade=params.get("grade") or "",
            min_total=num("min"),
            max_total=num("max"),
            source=params.get("source") or "",
            country=params.get("country") or "",
            activity=params.get("activity") or "",
            after=params.get("after") or "",
        )

    def query_string(self, **changes: Any) -> str:
        from urllib.parse import urlencode

        values = {
            "q": self.q,
            "stage": self.stage,
            "grade": self.grade,
            "min": "" if self.min_total is None else f"{self.min_total:g}",
            "max": "" if self.max_total is None else f"{self.max_total:g}",
            "source": self.source,
            "country": self.country,
            "activity": self.activity,
            "after": self.after,
            **changes,
        }
        return urlencode({k: v for k, v in values.items() if v})


@dataclass
class LeadsPage:
    rows: list[dict[str, Any]]
    next_after: str | None
    filters: LeadFilters
    stages: list[str] = field(default_factory=list)


def _prop(name: str) -> Any:
    return prop(name)


def _exact(text: str) -> Any:
    """An id, an e-mail, a last name or a company, exactly (case-insensitive): index lookups."""
    needle = text.strip().lower()
    return sa.or_(
        C.id == text.strip(),
        C.email == needle,
        sa.func.lower(_prop("last_name")) == needle,
        sa.func.lower(_prop("company")) == needle,
    )


def _contains(text: str) -> Any:
    """Contacts whose properties contain the text anywhere (names, company, e-mail, …):
    one scan of the contacts, stopped at ``SEARCH_LIMIT`` matches; used only when
    nothing matches exactly."""
    needle = text.strip().lower()
    like = "%" + needle.replace("\\", "").replace("%", "").replace("_", "") + "%"
    matched = (
        sa.select(C.id)
        .where(sa.func.lower(sa.cast(C.properties, sa.Text)).like(like))
        .limit(SEARCH_LIMIT)
    )
    return S.contact_id.in_(matched.scalar_subquery())


def leads_query(
    model: str,
    f: LeadFilters,
    *,
    limit: int = PAGE_SIZE,
    now: datetime | None = None,
    contains: bool = False,
):
    now = now or datetime.now(UTC)
    last_event = sa.select(sa.func.max(E.ts)).where(E.contact_id == S.contact_id).scalar_subquery()
    q = (
        sa.select(
            S.contact_id,
            S.total,
            S.grade,
            S.stage,
            S.excluded,
            S.groups,
            C.email,
            C.properties,
            last_event.label("last_activity"),
        )
        .select_from(T.scores.join(T.contacts, C.id == S.contact_id))
        .where(S.model_name == model)
    )
    if f.stage == "(excluded)":
        q = q.where(S.excluded.is_(True))
    elif f.stage:
        q = q.where(S.stage == f.stage)
    if f.grade:
        q = q.where(S.grade == f.grade)
    if f.min_total is not None:
        q = q.where(S.total >= f.min_total)
    if f.max_total is not None:
        q = q.where(S.total <= f.max_total)
    if f.source:
        q = q.where(_prop("source") == f.source)
    if f.country:
        q = q.where(_prop("country") == f.country)
    if f.activity in ACTIVITY:
        _, days, active = ACTIVITY[f.activity]
        recent = sa.exists().where(E.contact_id == S.contact_id, E.ts >= now - timedelta(days))
        q = q.where(recent if active else ~recent)
    if f.q:
        q = q.where(_contains(f.q) if contains else _exact(f.q))
    if f.after:
        total, _, cid = f.after.partition("~")
        try:
            t = float(total)
        except ValueError:
            t = None
        if t is not None and cid:
            q = q.where(sa.tuple_(S.total, S.contact_id) < sa.tuple_(sa.literal(t), cid))
    return q.order_by(S.total.desc(), S.contact_id.desc()).limit(limit + 1)


def leads(conn: sa.Connection, model: str, f: LeadFilters, *, limit: int = PAGE_SIZE) -> LeadsPage:
    contains = False
    if f.q and "@" not in f.q:  # nothing matches exactly: look for the text inside names
        contains = not conn.execute(sa.select(sa.exists().where(_exact(f.q)))).scalar()
    query = leads_query(model, f, limit=limit, contains=contains)
    rows = [r._asdict() for r in conn.execute(query)]
    more = len(rows) > limit
    rows = rows[:limit]
    for r in rows:
        props = r["properties"] or {}
        r["name"] = " ".join(str(props[k]) for k in ("first_name", "last_name") if props.get(k))
        r["company"] = props.get("company") or ""
        r["source"] = props.get("source") or ""
        r["country"] = props.get("country") or ""
    nxt = f"{rows[-1]['total']!r}~{rows[-1]['contact_id']}" if more and rows else None
    return LeadsPage(rows, nxt, f)


def choices(conn: sa.Connection, prop: str) -> list[str]:
    """Values of a property seen in a sample of contacts (for the filter drop-downs)."""
    sample = sa.select(C.properties).limit(SAMPLE_FOR_CHOICES).subquery()
    values = conn.execute(sa.select(sample.c.properties[prop].as_string()).distinct()).scalars()
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
    converted = sa.cast(_prop("converted"), sa.Text)
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

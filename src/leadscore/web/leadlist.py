"""The leads list: filters, a sort on any column with a second key, counts and pages.

Everything is done by the store: the filters are a ``WHERE``, the sort an
``ORDER BY`` (the chosen column, the second key, then the contact id, so every
order is total and the same on SQLite and PostgreSQL, NULLs last), a page a
``LIMIT``. Pages are reached two ways:

* **Previous / Next** are *keyset* pages: the link carries the sort-key values
  of the page's first or last row (the cursor) and the page asks for the 51 rows
  before or after it. The default order (total, then contact id, both
  descending) is the order of the index ``ix_scores_model_total (model_name,
  total, contact_id)`` and its cursor is one row comparison, so page 1,000 costs
  what page 1 costs.
* **Page numbers** are ``OFFSET`` pages, read from the nearer end of the list
  (the last page is the first page of the reversed order), so no jump walks more
  than half of it.

The total is one ``COUNT(*)`` with the same filters. The cursors are
``leadscore.web.keyset``'s; the CSV export of a view is ``leadscore.web.leadexport``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa

from ..model.schema import Axes
from ..service.matrix import cell_condition
from ..service.writes import behaviour_entries
from ..store import tables as T
from ..store.web_tables import prop
from .keyset import Key, ListError, beyond, decode, encode
from .queries import week_start

C, S, E, H = T.contacts.c, T.scores.c, T.events.c, T.score_history.c
PAGE_SIZE = 50
PAGE_LINKS = 2  # page numbers shown on each side of the current page
ACTIVITY = {
    "7d": ("active in the last 7 days", 7, True),
    "30d": ("active in the last 30 days", 30, True),
    "90d": ("active in the last 90 days", 90, True),
    "quiet90": ("no activity for 90 days", 90, False),
}
#: "entered its stage": since when (a function of now), e.g. stage=MQL&entered=week
ENTERED: dict[str, tuple[str, Callable[[datetime], datetime]]] = {
    "week": ("this week (since Monday)", week_start),
    "7d": ("in the last 7 days", lambda now: now - timedelta(days=7)),
    "30d": ("in the last 30 days", lambda now: now - timedelta(days=30)),
}
SEARCH_LIMIT = 500  # contacts a name or company search may match


def _last_event() -> Any:
    return sa.select(sa.func.max(E.ts)).where(E.contact_id == S.contact_id).scalar_subquery()


def _stage_rank(stages: Sequence[str]) -> Any:
    """A stage's place in the funnel: the model's first threshold ranks highest."""
    if not stages:  # a model without thresholds: staged before unstaged
        return sa.case((S.stage.is_(None), 0), else_=1)
    whens = [(S.stage == s, len(stages) - i) for i, s in enumerate(stages)]
    return sa.case(*whens, else_=0)


def _text(name: str) -> Any:
    """A property as text, read back as text (the expression stays the index's)."""
    return sa.type_coerce(prop(name), sa.String)


@dataclass(frozen=True)
class Column:
    """A sortable column of the list: its heading, its SQL expression, its usual direction."""

    label: str
    expr: Callable[[Sequence[str]], Any]
    kind: str = "text"  # text | number | time: what a page link's cursor must hold for it
    nullable: bool = True
    desc_first: bool = False  # numbers and dates: highest first on the first click


def _lower(name: str) -> Any:
    return sa.func.lower(prop(name), type_=sa.String)


def _group(name: str) -> Any:
    return S.groups[name].as_float()


NUMBER = {"kind": "number", "desc_first": True}
COLUMNS: dict[str, Column] = {
    "contact": Column("Contact (last name)", lambda st: _lower("last_name")),
    "company": Column("Company", lambda st: _lower("company")),
    "fit": Column("Fit", lambda st: _group("fit"), **NUMBER),
    "grade": Column("Grade", lambda st: S.grade),
    "engagement": Column("Engagement", lambda st: _group("engagement"), **NUMBER),
    "total": Column("Total", lambda st: S.total, nullable=False, **NUMBER),
    "stage": Column("Stage (funnel order)", _stage_rank, nullable=False, **NUMBER),
    "source": Column("Source", lambda st: _text("source")),
    "country": Column("Country", lambda st: _text("country")),
    "activity": Column("Last activity", lambda st: _last_event(), kind="time", desc_first=True),
}
DEFAULT_SORT = "total"


def _direction(raw: str, column: str) -> str:
    if raw in ("asc", "desc"):
        return raw
    if raw:
        raise ListError(f"sort direction {raw!r} is neither 'asc' nor 'desc'")
    col = COLUMNS.get(column)
    return "desc" if col is None or col.desc_first else "asc"


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
    entered: str = ""  # entered its current stage since: a key of ENTERED
    matrix: str = ""  # a matrix cell, e.g. A1 (models with a matrix: section)
    quadrant: str = ""  # a matrix quadrant, by its name
    sort: str = DEFAULT_SORT
    dir: str = "desc"
    sort2: str = ""  # the second key: ties on the first are ordered by it, then by contact id
    dir2: str = ""
    page: int = 1  # the page number shown (and, without a cursor, the page read)
    after: str = ""  # keyset cursor: the last row of the page before
    before: str = ""  # keyset cursor: the first row of the page after
    model: str = ""
    # the shown model's matrix, which the cell and quadrant filters read (set by the page)
    axes: Axes | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_query(cls, params: Any) -> LeadFilters:
        """The filters of a page's query string; refuses an unknown sort column or direction."""

        def num(name: str) -> float | None:
            raw = (params.get(name) or "").strip()
            try:
                value = float(raw) if raw else None
            except ValueError:
                return None
            return value if value is not None and math.isfinite(value) else None

        sort = params.get("sort") or DEFAULT_SORT
        sort2 = params.get("sort2") or ""
        for name, key in (("sort", sort), ("sort2", sort2)):
            if key and key not in COLUMNS:
                raise ListError(
                    f"{name}={key!r} is not a column of the leads list; use one of "
                    + ", ".join(COLUMNS)
                )
        try:
            page = int(params.get("page") or 1)
        except ValueError:
            raise ListError(f"page={params.get('page')!r} is not a page number") from None
        return cls(
            q=(params.get("q") or "").strip()[:200],
            stage=params.get("stage") or "",
            grade=params.get("grade") or "",
            min_total=num("min"),
            max_total=num("max"),
            source=params.get("source") or "",
            country=params.get("country") or "",
            activity=params.get("activity") or "",
            entered=params.get("entered") or "",
            matrix=(params.get("matrix") or "").strip()[:40],
            quadrant=(params.get("quadrant") or "").strip()[:100],
            sort=sort,
            dir=_direction(params.get("dir") or "", sort),
            sort2="" if sort2 == sort else sort2,
            dir2=_direction(params.get("dir2") or "", sort2) if sort2 and sort2 != sort else "",
            page=max(1, min(page, 10**9)),
            after=params.get("after") or "",
            before=params.get("before") or "",
            model=params.get("model") or "",
        )

    def params(self, **changes: Any) -> dict[str, str]:
        """The query string's values (the defaults left out), with some changed."""
        values = {
            "model": self.model,
            "q": self.q,
            "stage": self.stage,
            "grade": self.grade,
            "min": "" if self.min_total is None else f"{self.min_total:g}",
            "max": "" if self.max_total is None else f"{self.max_total:g}",
            "source": self.source,
            "country": self.country,
            "activity": self.activity,
            "entered": self.entered,
            "matrix": self.matrix,
            "quadrant": self.quadrant,
            "sort": "" if self.sort == DEFAULT_SORT else self.sort,
            "dir": "" if self.dir == _direction("", self.sort) else self.dir,
            "sort2": self.sort2,
            "dir2": "" if not self.sort2 or self.dir2 == _direction("", self.sort2) else self.dir2,
            "page": "" if self.page == 1 else str(self.page),
            "after": self.after,
            "before": self.before,
        }
        for k, v in changes.items():
            values[k] = "" if v is None else str(v)
        if values.get("page") == "1":
            values["page"] = ""
        return {k: v for k, v in values.items() if v}

    def query_string(self, **changes: Any) -> str:
        return urlencode(self.params(**changes))

    def sorted_by(self, column: str) -> str:
        """The query string of a click on a column heading: sort by it (again: the other
        way), keep the filters and the second key, back to page 1."""
        if column == self.sort:
            direction = "asc" if self.dir == "desc" else "desc"
        else:
            direction = _direction("", column)
        sort2 = "" if self.sort2 == column else self.sort2
        default = _direction("", column)
        return self.query_string(
            sort="" if column == DEFAULT_SORT else column,
            dir="" if direction == default else direction,
            sort2=sort2,
            dir2=self.dir2 if sort2 else "",
            page="",
            after="",
            before="",
        )


def sort_keys(f: LeadFilters, stages: Sequence[str] = ()) -> list[Key]:
    first = COLUMNS[f.sort]
    keys = [Key(first.expr(stages), f.dir == "desc", first.nullable, first.kind)]
    if f.sort2:
        second = COLUMNS[f.sort2]
        keys.append(Key(second.expr(stages), f.dir2 == "desc", second.nullable, second.kind))
    keys.append(Key(S.contact_id, f.dir == "desc", False))
    return keys


# ---------------------------------------------------------------- filters
def _exact(text: str) -> Any:
    """An id, an e-mail, a last name or a company, exactly (case-insensitive): index lookups."""
    needle = text.strip().lower()
    return sa.or_(
        C.id == text.strip(),
        C.email == needle,
        sa.func.lower(prop("last_name")) == needle,
        sa.func.lower(prop("company")) == needle,
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


def conditions(
    model: str, f: LeadFilters, *, now: datetime | None = None, contains: bool = False
) -> list[Any]:
    now = now or datetime.now(UTC)
    where: list[Any] = [S.model_name == model]
    if f.stage == "(excluded)":
        where.append(S.excluded.is_(True))
    elif f.stage:
        where.append(S.stage == f.stage)
    if f.grade:
        where.append(S.grade == f.grade)
    if f.min_total is not None:
        where.append(S.total >= f.min_total)
    if f.max_total is not None:
        where.append(S.total <= f.max_total)
    if f.source:
        where.append(prop("source") == f.source)
    if f.country:
        where.append(prop("country") == f.country)
    if f.activity in ACTIVITY:
        _, days, active = ACTIVITY[f.activity]
        recent = sa.exists().where(E.contact_id == S.contact_id, E.ts >= now - timedelta(days))
        where.append(recent if active else ~recent)
    if f.entered in ENTERED:
        # the stage it is in now was entered since then (as the dashboard counts entries)
        since = ENTERED[f.entered][1](now)
        where.append(
            sa.exists().where(
                H.contact_id == S.contact_id,
                H.model_name == S.model_name,
                H.new_stage == S.stage,
                sa.or_(H.old_stage.is_(None), H.old_stage != H.new_stage),
                H.at >= since,
                behaviour_entries(T.score_history),  # a publish's moves are no entries
            )
        )
    where += cell_condition(f.axes, f.matrix, f.quadrant)
    if f.q:
        where.append(_contains(f.q) if contains else _exact(f.q))
    return where


def _needs_contacts(f: LeadFilters) -> bool:
    return bool(f.source or f.country or f.q)


def leads_query(
    model: str,
    f: LeadFilters,
    *,
    limit: int = PAGE_SIZE,
    offset: int = 0,
    reverse: bool = False,
    now: datetime | None = None,
    contains: bool = False,
    stages: Sequence[str] = (),
) -> sa.Select:
    """One page of the view: ``limit + 1`` rows (the extra one says whether more follow),
    after ``f.after`` / before ``f.before`` when given, else from ``offset``; read in the
    reversed order when ``reverse`` (the caller turns the rows back)."""
    keys = sort_keys(f, stages)
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
            _last_event().label("last_activity"),
            *(k.expr.label(f"k{i}") for i, k in enumerate(keys)),
        )
        .select_from(T.scores.join(T.contacts, C.id == S.contact_id))
        .where(*conditions(model, f, now=now, contains=contains))
    )
    if f.before:
        q = q.where(beyond(keys, decode(f.before, keys), forward=False))
        reverse = True
    elif f.after:
        q = q.where(beyond(keys, decode(f.after, keys), forward=True))
    q = q.order_by(*(k.ordered(reverse) for k in keys)).limit(limit + 1)
    return q.offset(offset) if offset else q


def count(
    conn: sa.Connection,
    model: str,
    f: LeadFilters,
    *,
    now: datetime | None = None,
    contains: bool = False,
) -> int:
    source = T.scores.join(T.contacts, C.id == S.contact_id) if _needs_contacts(f) else T.scores
    query = (
        sa.select(sa.func.count())
        .select_from(source)
        .where(*conditions(model, f, now=now, contains=contains))
    )
    return int(conn.execute(query).scalar_one())


@dataclass
class LeadsPage:
    rows: list[dict[str, Any]]
    filters: LeadFilters
    total: int = 0
    page: int = 1
    pages: int = 1
    first: int = 0  # 1-based position of the first row shown (0 when none)
    next_after: str | None = None  # cursor of the next page
    prev_before: str | None = None  # cursor of the previous page
    stages: list[str] = field(default_factory=list)

    def page_numbers(self) -> list[int | None]:
        """1, …, the pages around this one, …, the last (None where pages are left out)."""
        wanted = {1, self.pages, *range(self.page - PAGE_LINKS, self.page + PAGE_LINKS + 1)}
        out: list[int | None] = []
        for n in sorted(p for p in wanted if 1 <= p <= self.pages):
            if out and out[-1] is not None and n - out[-1] > 1:  # type: ignore[operator]
                out.append(None)
            out.append(n)
        return out


def _rows_before(
    conn: sa.Connection,
    model: str,
    f: LeadFilters,
    values: Sequence[Any],
    now: datetime,
    contains: bool,
    stages: Sequence[str],
) -> int:
    """How many rows of the view come before the row with these sort-key values."""
    query = (
        sa.select(sa.func.count())
        .select_from(T.scores.join(T.contacts, C.id == S.contact_id))
        .where(*conditions(model, f, now=now, contains=contains))
        .where(beyond(sort_keys(f, stages), values, forward=False))
    )
    return int(conn.execute(query).scalar_one())


def search_mode(conn: sa.Connection, f: LeadFilters) -> bool:
    """Whether the search looks inside profiles: only when nothing matches exactly."""
    if f.q and "@" not in f.q:
        return not conn.execute(sa.select(sa.exists().where(_exact(f.q)))).scalar()
    return False


def shape(r: Any, nkeys: int) -> dict[str, Any]:
    row = r._asdict()
    row["key"] = [row.pop(f"k{i}") for i in range(nkeys)]
    props = row["properties"] or {}
    row["first_name"] = props.get("first_name") or ""
    row["last_name"] = props.get("last_name") or ""
    row["name"] = " ".join(str(props[k]) for k in ("first_name", "last_name") if props.get(k))
    row["company"] = props.get("company") or ""
    row["source"] = props.get("source") or ""
    row["country"] = props.get("country") or ""
    groups = row["groups"] or {}
    row["fit"] = groups.get("fit")
    row["engagement"] = groups.get("engagement")
    return row


def leads(
    conn: sa.Connection,
    model: str,
    f: LeadFilters,
    *,
    limit: int = PAGE_SIZE,
    stages: Sequence[str] = (),
    now: datetime | None = None,
) -> LeadsPage:
    """A page of the view with its total, page number and the cursors of its neighbours."""
    now = now or datetime.now(UTC)
    contains = search_mode(conn, f)
    total = count(conn, model, f, now=now, contains=contains)
    pages = max(1, math.ceil(total / limit))
    nkeys = len(sort_keys(f, stages))
    page = f.page
    if f.before or f.after:
        query = leads_query(model, f, limit=limit, now=now, contains=contains, stages=stages)
        rows = [shape(r, nkeys) for r in conn.execute(query)]
        more = len(rows) > limit
        rows = rows[:limit]
        if f.before:
            rows.reverse()
            has_prev, has_next = more, True
        else:
            has_prev, has_next = True, more
        # where the page starts, counted (not taken from the link): rows before its first
        first = (
            1 + _rows_before(conn, model, f, rows[0]["key"], now, contains, stages) if rows else 0
        )
        page = (first - 1) // limit + 1 if rows else 1
    else:
        page = min(page, pages)
        offset = (page - 1) * limit
        shown = max(0, min(limit, total - offset))
        from_end = total - offset - shown
        if from_end < offset:  # nearer the end: read the reversed order
            query = leads_query(
                model,
                replace(f, after="", before=""),
                limit=shown,
                offset=from_end,
                reverse=True,
                now=now,
                contains=contains,
                stages=stages,
            )
            rows = [shape(r, nkeys) for r in conn.execute(query)][:shown]
            rows.reverse()
        else:
            query = leads_query(
                model, f, limit=limit, offset=offset, now=now, contains=contains, stages=stages
            )
            rows = [shape(r, nkeys) for r in conn.execute(query)][:limit]
        has_prev, has_next = page > 1, offset + len(rows) < total
        first = offset + 1 if rows else 0
    return LeadsPage(
        rows,
        f,
        total=total,
        page=page,
        pages=pages,
        first=first,
        next_after=encode(rows[-1]["key"]) if rows and has_next else None,
        prev_before=encode(rows[0]["key"]) if rows and has_prev else None,
        stages=list(stages),
    )

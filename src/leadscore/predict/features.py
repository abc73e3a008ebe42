"""Features for the predictive model, from contact properties and events.

* **properties**: every contact property except the outcome, the outcome time
  and the columns asked to be left out, as raw values (the estimator's encoder
  decides numeric or categorical, and keeps "missing" as a value of its own);
* **events** (computed in DuckDB SQL on the ``events`` view): for each of the
  most common event types a count over all time and over each window (7, 30
  and 90 days by default); the count of all events; days since the last and
  the first event; active days (days with at least one event), overall and in
  the last 30 days; distinct pages (the ``url`` or ``page`` attribute); the
  first-touch and last-touch source (``source``, ``utm_source`` or
  ``channel`` attribute of the first and the last event that has one).

**Point in time**: each contact's events are counted up to a cut-off. With an
outcome-time column, a contact that has an outcome time is cut off at it
(events at or after it are ignored: they happened because of the outcome, not
before it). Cutting every other contact off at ``as_of`` would teach a model
when the clock stopped rather than who converts (converters seen young, at
their conversion; the others old, at the end of the data), so
:func:`leadscore.predict.snapshots.matched_cutoffs` draws their cut-offs
instead, at moments of their life drawn like the timed contacts' (matched on
how long each has been known). Both classes are then seen at ages from the
same distribution. Property values are
as the file gives them: a snapshot.

The SQL is built as syntax trees (SQLGlot) from fixed templates; names and
values are substituted as quoted identifiers and literals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlglot
from sqlglot import exp

from ..data.io import Inputs
from ..engine import values as V

if TYPE_CHECKING:
    from . import snapshots as snap

#: windows (days) for event counts
WINDOWS = (7, 30, 90)
#: at most this many event types get their own counts (the most frequent)
MAX_EVENT_TYPES = 20
PAGE_ATTRIBUTES = ("url", "page", "page_url", "path")
SOURCE_ATTRIBUTES = ("source", "utm_source", "channel", "lead_source")
EVENT_PREFIX = "event:"


@dataclass
class FeatureConfig:
    """What features a model uses; learned at training, reused at prediction."""

    properties: list[str]
    event_types: list[str] = field(default_factory=list)
    windows: tuple[int, ...] = WINDOWS
    page_attribute: str | None = None
    source_attribute: str | None = None
    use_events: bool = False

    def event_columns(self) -> list[str]:
        if not self.use_events:
            return []
        cols = [f"{EVENT_PREFIX}count"]
        for t in self.event_types:
            cols.append(f"{EVENT_PREFIX}{t}")
            cols.extend(f"{EVENT_PREFIX}{t}:{w}d" for w in self.windows)
        cols += [
            f"{EVENT_PREFIX}days_since_last",
            f"{EVENT_PREFIX}days_since_first",
            f"{EVENT_PREFIX}active_days",
            f"{EVENT_PREFIX}active_days:30d",
        ]
        if self.page_attribute:
            cols.append(f"{EVENT_PREFIX}distinct_pages")
        if self.source_attribute:
            cols += [f"{EVENT_PREFIX}first_touch_source", f"{EVENT_PREFIX}last_touch_source"]
        return cols


#: the event features that are not counts of one event type, and their readable names
FIXED_EVENT_FEATURES = {
    "count": "events (all types)",
    "days_since_last": "days since the last event",
    "days_since_first": "days since the first event",
    "active_days": "days with activity",
    "active_days:30d": "days with activity in the last 30 days",
    "distinct_pages": "distinct pages visited",
    "first_touch_source": "first-touch source",
    "last_touch_source": "last-touch source",
}


def label(column: str) -> str:
    """Readable name of a feature column, for reasons and the model card."""
    if not column.startswith(EVENT_PREFIX):
        return column
    name = column[len(EVENT_PREFIX) :]
    if name in FIXED_EVENT_FEATURES:
        return FIXED_EVENT_FEATURES[name]
    kind, _, window = name.rpartition(":")
    if window.endswith("d") and window[:-1].isdigit() and kind:
        return f"{kind} events in the last {window[:-1]} days"
    return f"{name} events"


def plan(
    inputs: Inputs,
    exclude: Sequence[str],
    *,
    windows: Sequence[int] = WINDOWS,
    max_event_types: int = MAX_EVENT_TYPES,
) -> FeatureConfig:
    """Choose the features from what the input holds."""
    skip = set(exclude)
    props = [p for p in inputs.properties if p not in skip]
    config = FeatureConfig(properties=props, windows=tuple(windows))
    if inputs.has_events and inputs.n_events:
        config.use_events = True
        rows = inputs.con.execute(
            "SELECT type, count(*) AS n FROM events GROUP BY type ORDER BY n DESC, type LIMIT ?",
            [max_event_types],
        ).fetchall()
        config.event_types = [r[0] for r in rows]
        attrs = set(inputs.attributes)
        config.page_attribute = next((a for a in PAGE_ATTRIBUTES if a in attrs), None)
        config.source_attribute = next((a for a in SOURCE_ATTRIBUTES if a in attrs), None)
    return config


def _ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _part(template: str, **values: Any) -> exp.Expression:
    return exp.replace_placeholders(sqlglot.parse_one(template, dialect="duckdb"), **values)


def event_sql(config: FeatureConfig, attributes: Sequence[str], cutoff: exp.Expression) -> str:
    """The SQL that computes the event features of every contact, ordered by id.

    ``cutoff`` is an expression over the ``contacts`` row ``c``: events strictly
    before it count. Counts per type and window come from a small table of
    events per (contact, type, narrowest window holding the event), so each
    event is looked at once however many counts there are.
    """
    attrs = set(attributes)
    names = iter(config.event_columns())
    windows = sorted(set(config.windows))
    count_items: list[exp.Expression] = [exp.column("contact_id", "a")]
    other_items: list[exp.Expression] = [exp.column("contact_id", "e")]
    outer: list[exp.Expression] = [exp.column("id", "c")]

    def add(items: list, template: str, table: str, zero: bool, **values: Any) -> None:
        name = next(names)
        items.append(exp.alias_(_part(template, **values), _ident(name)))
        col = exp.column(_ident(name), table)
        outer.append(exp.alias_(exp.func("coalesce", col, 0) if zero else col, _ident(name)))

    add(count_items, "CAST(sum(a.n) AS BIGINT)", "n", True)
    for t in config.event_types:
        add(count_items, "CAST(sum(a.n) FILTER (WHERE a.type = :t) AS BIGINT)", "n", True, t=t)
        for w in config.windows:
            add(
                count_items,
                "CAST(sum(a.n) FILTER (WHERE a.type = :t AND a.band BETWEEN 1 AND :w) AS BIGINT)",
                "n",
                True,
                t=t,
                w=int(w),
            )
    add(other_items, "date_diff('second', max(e.ts), any_value(e.cutoff)) / 86400.0", "o", False)
    add(other_items, "date_diff('second', min(e.ts), any_value(e.cutoff)) / 86400.0", "o", False)
    add(other_items, "count(DISTINCT CAST(e.ts AS DATE))", "o", True)
    add(
        other_items,
        "count(DISTINCT CAST(e.ts AS DATE)) FILTER (WHERE e.ts >= e.cutoff - to_days(30))",
        "o",
        True,
    )
    if config.page_attribute:
        if config.page_attribute in attrs:
            add(other_items, "count(DISTINCT e.:a)", "o", True, a=_ident(config.page_attribute))
        else:
            add(other_items, "CAST(NULL AS BIGINT)", "o", True)
    if config.source_attribute:
        for fn in ("arg_min", "arg_max"):
            if config.source_attribute in attrs:
                add(
                    other_items,
                    f"{fn}(e.:a, (e.ts, coalesce(e.event_id, ''), coalesce(e.:a, '')))",
                    "o",
                    False,
                    a=_ident(config.source_attribute),
                )
            else:
                add(other_items, "CAST(NULL AS VARCHAR)", "o", False)
    band = exp.Case()
    for w in windows:
        band = band.when(_part("e.ts >= e.cutoff - to_days(:w)", w=int(w)), exp.Literal.number(w))
    band = band.else_(exp.Literal.number(0))
    cut = exp.select(exp.column("id"), exp.alias_(cutoff, "cutoff")).from_(
        exp.alias_(exp.to_table("contacts"), "c", table=True)
    )
    used = sorted(a for a in attrs if a in (config.page_attribute, config.source_attribute))
    keep = ["contact_id", "event_id", "type", "ts", *used]
    joined = (
        exp.select(*(exp.column(_ident(c), "e") for c in keep), exp.column("cutoff", "k"))
        .from_(exp.alias_(exp.to_table("events"), "e", table=True))
        .join("k", on=_part("e.contact_id = k.id"))
        .where(_part("e.ts < k.cutoff"))
    )
    per_band = (
        exp.select(
            exp.column("contact_id", "e"),
            exp.column("type", "e"),
            exp.alias_(band, "band"),
            exp.alias_(exp.Count(this=exp.Star()), "n"),
        )
        .from_(exp.alias_(exp.to_table("ev"), "e", table=True))
        .group_by(exp.column("contact_id", "e"), exp.column("type", "e"), "band")
    )
    counts = (
        exp.select(*count_items)
        .from_(exp.alias_(exp.to_table("agg"), "a", table=True))
        .group_by(exp.column("contact_id", "a"))
    )
    others = (
        exp.select(*other_items)
        .from_(exp.alias_(exp.to_table("ev"), "e", table=True))
        .group_by(exp.column("contact_id", "e"))
    )
    query = (
        exp.select(*outer)
        .from_(exp.alias_(exp.to_table("contacts"), "c", table=True))
        .join(
            exp.alias_(exp.to_table("counts"), "n", table=True),
            on=_part("n.contact_id = c.id"),
            join_type="left",
        )
        .join(
            exp.alias_(exp.to_table("others"), "o", table=True),
            on=_part("o.contact_id = c.id"),
            join_type="left",
        )
        .order_by(exp.column("id", "c"))
        .with_("k", as_=cut)
        .with_("ev", as_=joined)
        .with_("agg", as_=per_band)
        .with_("counts", as_=counts)
        .with_("others", as_=others)
    )
    return query.sql(dialect="duckdb")


def cutoff_expression(outcome_time: str | None) -> exp.Expression:
    """Each contact's cut-off: its outcome time when given and set, else just after
    ``as_of`` (the query's one parameter)."""
    end = exp.Add(
        this=exp.Cast(this=exp.Placeholder(), to=exp.DataType.build("TIMESTAMPTZ")),
        expression=_part("INTERVAL 1 MICROSECOND"),
    )
    if outcome_time is None:
        return end
    return _part(
        "coalesce(TRY_CAST(c.:col AS TIMESTAMPTZ), :end)", col=_ident(outcome_time), end=end
    )


SNAPSHOT_TABLE = "snapshot_cutoffs"


def table_cutoff_expression() -> exp.Expression:
    """Each contact's cut-off read from the ``snapshot_cutoffs`` table (``id``,
    ``cutoff``), else just after ``as_of``."""
    end = cutoff_expression(None)
    return _part(
        f"coalesce((SELECT s.cutoff FROM {SNAPSHOT_TABLE} AS s WHERE s.id = c.id), :end)",
        end=end,
    )


def build(
    inputs: Inputs,
    config: FeatureConfig,
    as_of: datetime,
    outcome_time: str | None = None,
    sql_cache: dict[Any, str] | None = None,
    snapshots: snap.Snapshots | None = None,
) -> tuple[list[str], dict[str, Any]]:
    """Contact ids (ordered) and their feature table.

    ``sql_cache`` keeps the built SQL between calls (building it takes longer
    than running it on one contact). ``snapshots`` gives each contact's cut-off
    (see :func:`leadscore.predict.snapshots.matched_cutoffs`) in place of ``outcome_time``.
    """
    con = inputs.con
    con.execute("SET enable_progress_bar = false")  # the commands show their own progress
    present = [p for p in config.properties if p in set(inputs.properties)]
    query = exp.select(*(exp.column(_ident(p)) for p in ["id", *present])).from_("contacts")
    rows = con.execute(query.order_by("id").sql(dialect="duckdb")).fetchall()
    ids = [r[0] for r in rows]
    table: dict[str, Any] = {}
    for j, p in enumerate(present, start=1):
        table[p] = [r[j] for r in rows]
    if config.use_events:
        key = (tuple(inputs.attributes), outcome_time, snapshots is not None)
        sql = sql_cache.get(key) if sql_cache is not None else None
        if sql is None:
            cutoff = (
                table_cutoff_expression()
                if snapshots is not None
                else cutoff_expression(outcome_time)
            )
            sql = event_sql(config, inputs.attributes, cutoff)
            if sql_cache is not None:
                sql_cache[key] = sql
        if snapshots is not None:
            import pyarrow as pa

            cuts = pa.table(
                {
                    "id": pa.array(snapshots.ids, pa.string()),
                    "cutoff": pa.array(snapshots.cutoffs, pa.timestamp("us", tz="UTC")),
                }
            )
            con.register(SNAPSHOT_TABLE, cuts)
        try:
            result = con.sql(sql, params=[as_of.isoformat()]).to_arrow_table()
        finally:
            if snapshots is not None:
                con.unregister(SNAPSHOT_TABLE)
        for name in config.event_columns():
            col = result.column(name)
            if str(col.type) in ("string", "large_string"):
                table[name] = col.to_pylist()
            else:
                table[name] = np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)
    return ids, table


def select_contacts(columns: Sequence[str]) -> str:
    """``SELECT`` the named contact columns, ordered by id."""
    query = exp.select(*(exp.column(_ident(c)) for c in columns)).from_("contacts")
    return query.order_by("id").sql(dialect="duckdb")


def bad_times_sql(column: str) -> str:
    """Up to five distinct values of ``column`` that are filled but not a time."""
    query = (
        exp.select(exp.column(_ident(column)))
        .distinct()
        .from_("contacts")
        .where(
            _part(
                "trim(coalesce(:c, '')) <> '' AND TRY_CAST(:c AS TIMESTAMPTZ) IS NULL",
                c=exp.column(_ident(column)),
            )
        )
        .order_by(exp.column(_ident(column)))
        .limit(5)
    )
    return query.sql(dialect="duckdb")


def latest_event_time(inputs: Inputs) -> datetime | None:
    if not inputs.has_events:
        return None
    micros = inputs.con.execute("SELECT epoch_us(max(ts)) FROM events").fetchone()[0]
    if micros is None:
        return None
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)


def resolve_as_of(text: str | None, inputs: Inputs) -> datetime:
    """The time features are computed as of: ``text`` (ISO 8601) when given, else the
    latest event time in the inputs, else now (UTC, whole seconds)."""
    if text is not None:
        return V.timestamp(text)
    latest = latest_event_time(inputs)
    return (
        latest.astimezone(UTC) if latest is not None else datetime.now(UTC).replace(microsecond=0)
    )

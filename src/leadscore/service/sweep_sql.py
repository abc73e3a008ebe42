"""The time sweep's set-based scoring: a page of due contacts scored with one query in
the store's database, written as the in-process path writes it.

The Python path (:func:`.rescoring.rescore`) reads every event of every contact of a
page into Python and runs the in-process evaluator on it. Here the SQL compiler's event
steps (:mod:`leadscore.engine.sql.events`: events up to the scoring time with a boolean
per event filter, then one pass of filtered aggregates) run in the database over the
store's ``events`` table, for the page's contacts at once; one row per contact comes
back with, per event rule, the count and the decayed sum of its events, its last
matching event, and what the score's next instant (``next_change``) needs: the first
event to leave a window or pass a decay step. The rest is done in Python exactly as
:func:`leadscore.engine.inprocess.score_contact` does it, from those numbers: property
and completeness rules (the contact's row is read anyway), caps, groups, exclusions,
total, grade, stage, manual adjustments, the breakdown. The result is an
:class:`~.scoring.Adjusted` with its :class:`~leadscore.engine.horizon.Horizon`, and
:func:`.writes.write_scores` stores it: the same scores, history, trigger states and
outbox rows as the Python path, from the same code.

Locking is the Python path's: the sweep takes the page's row locks (in id order)
before anything is read and scores as of the live time read under them
(:func:`.scoring.scoring_time`), so an event that arrives during the sweep either
committed before the locks (it is read and counted) or waits for the page to commit
and rescores its contact after it; an older score never overwrites a newer one.

What a model needs for this path (else the sweep scores it in Python, and says why
in a debug line): a dialect of the compiler for the store's database (PostgreSQL;
SQLite has none), no trained ``predicted`` group, no account section or
``account.*`` reads (those are swept by the account path), event filters the
compiler can express and that read no attribute named like an event's own field
(``id``, ``event_id``, ``ts``, ``contact_id``). Within a page, a contact whose
scoring records a stage entry that changes what the model counts (a group reset on
the entry, a kept stage's phase: :func:`.stages.rescores`) is scored again in Python,
where :func:`.scoring.compute` settles it.

Event attributes are read as text (``->>`` of the stored JSON), as batch scoring
reads its columns: texts, numbers and booleans read as the in-process evaluator
reads them. A list or an object would read as its JSON text, where the in-process
evaluator reads Python's text of it: a contact with such an attribute (one the
model reads) in any of its events is scored in Python (:meth:`SetScorer.structured`).

Floating point: a continuous decay's sum is added up in another order in the
database, so totals may differ from the Python path's below the ninth decimal and a
``next_change`` by a microsecond or so; steps, windows, caps and counts are exact.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlglot
from sqlglot import exp

from ..engine import spine
from ..engine import values as V
from ..engine.conditions import evaluate
from ..engine.horizon import TICK, Drift, Horizon, lookback
from ..engine.inprocess import event_hit, static_hit
from ..engine.result import RuleHit, ScoreResult
from ..engine.sql.base import CompileContext, Source, col, ident, uses_reset
from ..engine.sql.compiler import with_ctes
from ..engine.sql.conditions import Unsupported
from ..engine.sql.dialects import US, get_dialect, n
from ..engine.sql.events import aggregates, event_steps, limited_cte, matcher, register_conditions
from ..errors import ModelError
from ..model.conditions import condition_fields
from ..model.schema import (
    CompletenessRule,
    EventRule,
    FrequencyRule,
    InactivityRule,
    PropertyRule,
    ScoringModel,
)
from ..store import tables as T
from . import predicted as P
from . import stages as S
from .accounts import account_aware
from .published import Published
from .scoring import (
    Q_ADJUSTMENTS,
    Q_CONTACTS,
    Adjusted,
    apply_adjustments,
    compute,
    contact_record,
    lookback_start,
)
from .writes import Writing, write_scores

log = logging.getLogger(__name__)

DIALECTS = {"postgresql": "postgres"}
"""The store databases the compiler has a dialect for (SQLAlchemy name → compiler's)."""

AS_OF_PARAM = "as_of_us"
IDS_PARAM = "ids"
ENTERED_PARAM = "entered_us"
SINCE_PARAM = "since"
_SENTINEL = 7_777_777_777_777_777  # the as-of time compiled in, made a bind parameter
_CONTACTS = "__ls_contacts"  # never read: the compiler's contacts CTE is not used
_EVENTS = "__ls_events"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

EventLike = EventRule | FrequencyRule | InactivityRule


class NotSetBased(Exception):
    """Why a model is swept in Python rather than in the database."""


def _at(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=int(us))


def _us(when: datetime) -> int:
    return (when - _EPOCH) // timedelta(microseconds=1)


def _check(pub: Published, dialect: str | None) -> ScoringModel:
    """The model the query is compiled from; :class:`NotSetBased` says why not."""
    if dialect is None:
        raise NotSetBased("the SQL compiler has no dialect for this store's database")
    model = pub.model
    if model.predicted is not None:
        raise NotSetBased("it has a trained 'predicted' group (scored in Python)")
    if account_aware(pub):
        raise NotSetBased("it scores or reads accounts (swept with its accounts)")
    return P.engine_model(model)


def _event_rules(model: ScoringModel) -> list[tuple[str, EventLike]]:
    return [
        (g, r)
        for g, r in model.rules()
        if isinstance(r, EventRule | FrequencyRule | InactivityRule)
    ]


def _attributes(model: ScoringModel) -> list[str]:
    """The event attributes the model's filters and limits read."""
    wanted: set[str] = set()
    for _, rule in _event_rules(model):
        if rule.on is not None:
            wanted |= condition_fields(rule.on)
        if isinstance(rule, EventRule) and rule.limit is not None:
            wanted.add(rule.limit.per)
    for x in model.exclusions:
        if x.on is not None:
            wanted |= condition_fields(x.on)
    core = {"ts", "id", "event_id", "contact_id"} & wanted
    if core:  # the compiler reads these as the event's own fields, never as attributes
        raise NotSetBased(f"an event filter reads the attribute {sorted(core)[0]!r}")
    return sorted(wanted - {"type", "ever", "day"})


def _events_source(attrs: Sequence[str], since: bool) -> exp.Expr:
    """The store's events of the page's contacts, with the attributes as text columns:
    no ``event_id`` (each stored event is its own, as the Python path reads them).
    ``since``: only the events from the ``since`` parameter on (the longest window of
    a model whose event rules all have one, as :func:`.scoring.lookback_start`)."""
    ev = "__se"
    cols: list[exp.Expr] = [
        exp.alias_(col("contact_id", ev), "contact_id", quoted=True),
        exp.alias_(exp.cast(exp.null(), "varchar"), "event_id", quoted=True),
        exp.alias_(col("type", ev), "type", quoted=True),
        exp.alias_(col("ts", ev), "ts", quoted=True),
    ]
    for a in attrs:
        text = exp.JSONExtractScalar(this=col("attributes", ev), expression=exp.Literal.string(a))
        cols.append(exp.alias_(text, a, quoted=True))
    ids = exp.Placeholder(this=IDS_PARAM)
    where: exp.Expr = col("contact_id", ev).eq(exp.Any(this=exp.paren(ids)))
    if since:
        where = exp.and_(where, col("ts", ev) >= exp.Placeholder(this=SINCE_PARAM))
    query = (
        exp.select(*cols)
        .from_(exp.alias_(exp.Table(this=ident(T.events.name)), ev, quoted=True))
        .where(where)
    )
    return query


_C_SQL = (
    "SELECT CAST(u.id AS VARCHAR) AS contact_id, CAST(u.entered AS BIGINT) AS __entered_us,"
    f" {_SENTINEL} AS __asof_us"
    f" FROM UNNEST(CAST(%({IDS_PARAM})s AS TEXT[]), CAST(%({ENTERED_PARAM})s AS BIGINT[]))"
    " AS u(id, entered)"
)


def _contacts_cte() -> exp.Expr:
    """``__c`` for a model whose groups reset on a stage entry: the page's contacts with
    the time they entered their stage, read in Python as the in-process evaluator reads
    it (``ids`` and ``entered`` are parallel arrays)."""
    return sqlglot.parse_one(_C_SQL, read="postgres")


def _min_ts(where: exp.Expr, name: str) -> exp.Expr:
    low = exp.Filter(this=exp.Min(this=col("__ts_us")), expression=exp.Where(this=where))
    return exp.alias_(low, name, quoted=True)


def _count(where: exp.Expr, name: str) -> exp.Expr:
    cnt = exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=where))
    return exp.alias_(cnt, name, quoted=True)


@dataclass(frozen=True)
class _Columns:
    """Where each rule's numbers are in the query's row."""

    count: dict[int, str]
    total: dict[int, str]
    last: dict[int, str]
    window: dict[int, str]  # earliest matching event inside the rule's window
    steps: dict[int, list[tuple[int, str]]]  # (seconds, earliest counted event not past it)
    linear: dict[int, str]  # counted events still wearing down
    x_count: dict[int, str]
    x_window: dict[int, str]


def _compile(model: ScoringModel, d_name: str) -> tuple[str, _Columns]:
    d = get_dialect(d_name)
    attrs = _attributes(model)
    odd = [a for a in attrs if "%" in a]
    if odd:
        raise NotSetBased(f"the attribute name {odd[0]!r} holds a per cent sign")
    src = Source(
        contacts_table=_CONTACTS,
        events_table=_EVENTS,
        contact_columns=("id",),
        event_columns=("contact_id", "event_id", "type", "ts", *attrs),
        has_events=True,
        cast_text=True,
    )
    ctx = CompileContext(model, d, src, _SENTINEL, None)
    rules = _event_rules(model)
    ev_x = [(j, x) for j, x in enumerate(model.exclusions) if x.on is not None]
    register_conditions(ctx, rules, [x for _, x in ev_x])
    reset = uses_reset(model)
    ctes: list[Any] = [("__c", _contacts_cte())] if reset else []
    ctes += event_steps(ctx, rules, reset, reset)
    asof = exp.Literal.number(_SENTINEL)
    ts = col("__ts_us")
    cols: list[exp.Expr] = [exp.alias_(exp.Count(this=exp.Star()), "__events", quoted=True)]
    spec = _Columns({}, {}, {}, {}, {}, {}, {}, {})

    def add(e: exp.Expr, name: str) -> str:
        cols.append(exp.alias_(e, name, quoted=True))
        return name

    def first(where: exp.Expr, name: str) -> str:
        return add(exp.Filter(this=exp.Min(this=ts.copy()), expression=exp.Where(this=where)), name)

    limited: list[tuple[int, str, EventRule]] = []
    limited_extra: dict[int, list[exp.Expr]] = {}
    for i, (gname, rule) in enumerate(rules):
        within = getattr(rule, "within", None)
        if isinstance(rule, EventRule) and rule.limit is not None:
            limited.append((i, gname, rule))
        else:
            for a in aggregates(ctx, i, gname, rule):
                cols.append(a)
        if isinstance(rule, InactivityRule):
            spec.last[i] = f"__last{i}"
            continue
        spec.count[i] = f"__n{i}"
        if isinstance(rule, EventRule):
            spec.total[i] = f"__s{i}"
        m = matcher(ctx, rule.on, within, model.groups[gname].reset_on_stage)
        if within is not None:
            spec.window[i] = first(m.copy(), f"__w{i}")
        if not isinstance(rule, EventRule):
            continue
        # what the decay's next instant needs, over the events counted: from __m with
        # the rule's filter, or (a repetition limit) over the events the limit keeps
        extra: list[exp.Expr] = []
        keep = exp.true() if rule.limit is not None else m
        decay = model.effective_decay(gname, rule)
        if decay.kind == "steps":
            lengths = [st.until for st in decay.steps]
        elif decay.kind == "expires":
            lengths = [int(decay.seconds or 0)]
        else:
            lengths = []
        for k, secs in enumerate(lengths):
            # kept while ts + secs + 1µs > as_of, i.e. the step is still ahead
            ahead = exp.Add(this=ts.copy(), expression=n(secs * US + 1)) > asof.copy()
            name = f"__d{i}_{k}"
            extra.append(_min_ts(exp.and_(keep.copy(), ahead), name))
            spec.steps.setdefault(i, []).append((secs, name))
        if decay.kind == "linear":
            length = n(int(decay.seconds or 0) * US)
            young = exp.Sub(this=asof.copy(), expression=ts.copy()) < length
            spec.linear[i] = f"__lin{i}"
            extra.append(_count(exp.and_(keep.copy(), young), spec.linear[i]))
        if rule.limit is None:
            cols.extend(extra)
        else:
            limited_extra[i] = extra
    for j, x in ev_x:
        m = matcher(ctx, x.on, x.within, False)
        cnt = exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=m.copy()))
        spec.x_count[j] = add(cnt, f"__x{j}")
        if x.within is not None:
            spec.x_window[j] = first(m.copy(), f"__xw{j}")
    agg = exp.select(col("contact_id"), *cols).from_("__m").group_by(col("contact_id"))
    ctes.append(("__a", agg))
    out: list[exp.Expr] = [exp.alias_(col("contact_id", "a"), "contact_id", quoted=True)]
    names = [c.alias for c in cols]
    out += [col(c, "a") for c in names]
    final = exp.select(*out).from_(exp.alias_(exp.Table(this=ident("__a")), "a", quoted=True))
    for i, gname, rule in limited:
        extra = limited_extra.get(i, [])
        ctes.append((f"__l{i}", limited_cte(ctx, i, gname, rule).select(*extra)))
        final = final.select(col(f"__n{i}", f"l{i}"), col(f"__s{i}", f"l{i}"))
        final = final.select(*[col(e.alias, f"l{i}") for e in extra])
        final = final.join(
            exp.alias_(exp.Table(this=ident(f"__l{i}")), f"l{i}", quoted=True),
            on=col("contact_id", "a").eq(col("contact_id", f"l{i}")),
            join_type="left",
            copy=False,
        )
    query = with_ctes(final, ctes)
    source = _events_source(attrs, lookback(model) is not None)

    def swap(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Table) and node.name == _EVENTS:
            alias = node.args.get("alias")
            sub = exp.Subquery(this=source.copy(), alias=alias.copy() if alias else None)
            return sub
        if isinstance(node, exp.Literal) and node.is_int and int(node.this) == _SENTINEL:
            return exp.Placeholder(this=AS_OF_PARAM)
        # The text goes to the driver with its parameters (``%(name)s``): a literal per
        # cent sign is doubled, and a modulo is spelled MOD().
        if isinstance(node, exp.Literal) and node.is_string and "%" in node.this:
            return exp.Literal.string(node.this.replace("%", "%%"))
        if isinstance(node, exp.Mod):
            return exp.Anonymous(this="MOD", expressions=[node.this, node.expression])
        return node

    query = query.transform(swap)
    if ctx.problems:
        raise NotSetBased("; ".join(p.message for p in ctx.problems))
    return query.sql(dialect=d.name), spec


class SetScorer:
    """One published model's page scoring in the database (compiled once per version)."""

    def __init__(self, pub: Published, dialect: str | None):
        self.pub = pub
        self.model = _check(pub, dialect)
        assert dialect is not None  # _check refuses a store without a dialect
        try:
            sql, self.spec = _compile(self.model, dialect)
        except (ModelError, Unsupported) as exc:
            raise NotSetBased(f"the compiler cannot express it: {exc}") from None
        self.query = sql  # for the driver, with %(name)s parameters
        self.rules = _event_rules(self.model)
        self.reset = uses_reset(self.model)
        self.index = {id(r): i for i, (_, r) in enumerate(self.rules)}
        self.attributes = _attributes(self.model)
        self.settled: set[str] = set()  # the page's contacts left to Python's settling

    # ----------------------------------------------------------------- scoring
    def score(
        self, conn: sa.Connection, ids: Sequence[str], as_of: datetime
    ) -> tuple[dict[str, Any], dict[str, dict[str, Adjusted]]]:
        """The contacts ``ids`` (locked by the caller) scored as of ``as_of``: their rows
        and each one's result, as :func:`.scoring.compute` gives them."""
        ids = sorted(set(ids))
        contacts = {r.id: r for r in conn.execute(Q_CONTACTS, {"ids": ids})}
        adjustments: dict[str, list[dict[str, Any]]] = {}
        for r in conn.execute(Q_ADJUSTMENTS, {"ids": ids}):
            adjustments.setdefault(r.contact_id, []).append(r._asdict())
        facts = S.load(conn, [c for c in ids if c in contacts], [self.pub.name])
        # what the evaluator reads: the contact's properties, with its recorded stage
        # and entry time when the model keeps stages (service/stages.py)
        records = {
            cid: S.inputs_of(self.pub.model, contact_record(row), facts.get((cid, self.pub.name)))
            for cid, row in contacts.items()
        }
        params: dict[str, Any] = {IDS_PARAM: ids, AS_OF_PARAM: _us(as_of)}
        since = lookback_start([self.pub], as_of)
        if since is not None:
            params[SINCE_PARAM] = since
        if self.reset:
            prop = self.model.lifecycle.entered_at_property
            entered = [
                V.optional_timestamp(records[c].get(prop)) if c in records else None for c in ids
            ]
            params[ENTERED_PARAM] = [None if t is None else _us(t) for t in entered]
        rows = {r["contact_id"]: r for r in conn.exec_driver_sql(self.query, params).mappings()}
        e = T.events.c
        ahead = dict(
            conn.execute(
                sa.select(e.contact_id, sa.func.min(e.ts))
                .where(e.contact_id.in_(ids), e.ts > as_of)
                .group_by(e.contact_id)
            ).all()
        )
        out: dict[str, dict[str, Adjusted]] = {}
        for cid in ids:
            contact = contacts.get(cid)
            if contact is None:
                continue
            mine = [a for a in adjustments.get(cid, []) if a["model_name"] in (None, self.pub.name)]
            fact = facts.get((cid, self.pub.name))
            adj = self._one(contact, records[cid], rows.get(cid), mine, as_of, ahead.get(cid))
            fact_after = S.entry(
                self.pub.model,
                contact_record(contact),
                fact,
                adj.stage,
                adj.result.phase,
                as_of,
                self.pub.version,
            )
            if fact_after is not None and S.rescores(self.pub.model, fact, fact_after):
                # entering the stage restarts what the model counts: scored again from
                # the entry, in Python (:func:`.scoring.compute` settles it)
                self.settled.add(cid)
                continue
            if fact_after is None and fact is not None and fact.changed:
                fact_after = fact
            out[cid] = {self.pub.name: replace(adj, entry=fact_after)}
        return contacts, out

    def _one(
        self,
        contact: Any,
        record: dict[str, Any],
        row: Any,
        adjustments: list[dict[str, Any]],
        as_of: datetime,
        ahead: datetime | None,
    ) -> Adjusted:
        """One contact, as ``score_one`` scores it, from its row of aggregates."""
        model, spec = self.model, self.spec
        horizon = Horizon(as_of)
        if ahead is not None:
            horizon.at(ahead.replace(tzinfo=UTC) if ahead.tzinfo is None else ahead)

        def value(name: str | None) -> Any:
            return None if row is None or name is None else row[name]

        def leave(first_us: Any, seconds: int) -> None:
            if first_us is not None:
                horizon.at(_at(first_us) + timedelta(seconds=seconds) + TICK)

        breakdown: list[RuleHit] = []
        groups: dict[str, float] = {}
        for gname, group in model.groups.items():
            hits = []
            for k, rule in enumerate(group.rules):
                horizon.where = (gname, k)
                if isinstance(rule, PropertyRule | CompletenessRule):
                    hits.append(static_hit(gname, rule, record))
                    continue
                i = self.index[id(rule)]
                within = getattr(rule, "within", None)
                if within is not None:
                    leave(value(spec.window.get(i)), within)
                if isinstance(rule, EventRule):
                    hits.append(self._event_hit(gname, rule, i, value, horizon, leave, as_of))
                elif isinstance(rule, FrequencyRule):
                    cnt = int(value(spec.count[i]) or 0)
                    fired = cnt >= rule.at_least
                    pts = rule.points if fired else 0.0
                    hits.append(
                        RuleHit(
                            group=gname,
                            rule=rule.name,
                            kind="frequency",
                            fired=fired,
                            matched=cnt,
                            points_raw=pts,
                            points_decayed=pts,
                            points=pts,
                            detail=f"{cnt} events, needs {rule.at_least}",
                        )
                    )
                else:
                    hits.append(
                        self._inactivity_hit(gname, rule, value(spec.last[i]), horizon, as_of)
                    )
            breakdown += hits
            groups[gname] = spine.group_score(group, [h.points for h in hits])
        reasons: list[str] = []
        for j, x in enumerate(model.exclusions):
            if x.when is not None:
                hit = evaluate(x.when, record)
            else:
                if x.within is not None:
                    leave(value(spec.x_window.get(j)), x.within)
                hit = int(value(spec.x_count[j]) or 0) > 0
            if hit:
                reasons.append(x.name)
        excluded = bool(reasons)
        phase = model.phase_of(record.get(model.lifecycle.stage_property))
        spined = spine.outcome(model, groups, excluded=excluded, phase=phase)
        result = ScoreResult(
            model=model.name,
            contact_id=str(contact.id),
            as_of=as_of,
            groups=groups,
            total=spined.total,
            grade=spined.grade,
            stage=spined.stage,
            excluded=excluded,
            exclusion_reasons=tuple(reasons),
            rules_fired=sum(1 for h in breakdown if h.fired),
            breakdown=tuple(breakdown),
            phase=phase,
        )
        adjusted = apply_adjustments(self.pub.model, result, adjustments)
        return replace(adjusted, pub=self.pub, horizon=horizon)

    def _event_hit(self, gname, rule: EventRule, i, value, horizon, leave, as_of) -> RuleHit:
        spec = self.spec
        cnt = int(value(spec.count[i]) or 0)
        decayed = float(value(spec.total[i]) or 0.0) if cnt else 0.0
        decay = self.model.effective_decay(gname, rule)
        if cnt and rule.points != 0 and decay.kind != "none":
            if decay.kind in ("steps", "expires"):
                for secs, name in spec.steps.get(i, []):
                    leave(value(name), secs)
            else:
                seconds = decay.seconds
                assert seconds is not None, "validated: half_life and linear have seconds"
                rate = 0.0
                if decay.kind == "half_life":
                    rate = math.log(2) / seconds * abs(decayed / rule.points)
                else:
                    for _ in range(int(value(spec.linear.get(i)) or 0)):
                        rate += 1.0 / seconds
                rate *= abs(rule.points)
                move = Drift(down=rate) if rule.points > 0 else Drift(up=rate)
                horizon.drift[horizon.where] = horizon.drift.get(horizon.where, Drift()) + move
        return event_hit(gname, rule, decay, cnt, decayed)

    def _inactivity_hit(self, gname, rule: InactivityRule, last_us, horizon, as_of) -> RuleHit:
        if last_us is None:
            fired, detail = rule.or_never, "no matching event ever"
        else:
            last = _at(last_us)
            fired = last < as_of - timedelta(seconds=rule.inactive_for)
            if not fired:
                horizon.at(last + timedelta(seconds=rule.inactive_for) + TICK)
            detail = f"last matching event {last.isoformat()}"
        pts = rule.points if fired else 0.0
        return RuleHit(
            group=gname,
            rule=rule.name,
            kind="inactivity",
            fired=fired,
            points_raw=pts,
            points_decayed=pts,
            points=pts,
            detail=detail,
        )

    def rescore(self, conn: sa.Connection, ids: Sequence[str], options: Writing) -> int:
        """Score and write the page's contacts under this model (``options.as_of`` set)."""
        assert options.as_of is not None, "the sweep reads the live time under the locks"
        ids = sorted(set(ids))
        odd = self.structured(conn, ids)
        self.settled = set()
        contacts, scored = self.score(conn, [c for c in ids if c not in odd], options.as_of)
        python = odd | self.settled
        if python:  # scored by the in-process evaluator, as the Python path does
            more, theirs = compute(conn, sorted(python), [self.pub], options.as_of)
            contacts.update(more)
            scored.update(theirs)
        write_scores(conn, contacts, scored, options)
        return len(scored) - len(python)

    def structured(self, conn: sa.Connection, ids: Sequence[str]) -> set[str]:
        """The contacts with an event whose attribute read by the model holds a list or
        an object: the database would read its JSON text, the in-process evaluator its
        Python text, so these few are scored in Python."""
        if not self.attributes or not ids:
            return set()
        e = T.events.c
        kinds = [sa.func.json_typeof(e.attributes[a]) for a in self.attributes]
        odd = sa.or_(*[k.in_(["array", "object"]) for k in kinds])
        query = sa.select(e.contact_id).where(e.contact_id.in_(list(ids)), odd).distinct()
        return set(conn.execute(query).scalars())


class SetScorers:
    """The set-based scorers of the published models, compiled once per version; None
    for a model the sweep scores in Python (the reason logged once)."""

    def __init__(self) -> None:
        self._made: dict[tuple[str, int, int, str | None], SetScorer | None] = {}

    def get(self, pub: Published, database: str) -> SetScorer | None:
        dialect = DIALECTS.get(database)
        key = (pub.name, pub.version, id(pub.model), dialect)
        if key in self._made:
            return self._made[key]
        found: SetScorer | None
        try:
            found = SetScorer(pub, dialect)
        except NotSetBased as why:
            log.debug(
                "sweep: model %s v%s is scored in Python, not in the database: %s",
                pub.name,
                pub.version,
                why,
            )
            found = None
        if len(self._made) > 64:
            self._made.clear()
        self._made[key] = found
        return found


__all__ = ["DIALECTS", "NotSetBased", "SetScorer", "SetScorers"]

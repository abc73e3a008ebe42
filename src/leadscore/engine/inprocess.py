"""The in-process evaluator: one contact and its events → score and breakdown.

This is the reference meaning of a model. The SQL evaluator must give the same
numbers; the differential tests hold the two together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeAlias

from ..errors import DataError
from ..model.conditions import Condition
from ..model.schema import (
    CompletenessRule,
    Decay,
    EventRule,
    FrequencyRule,
    InactivityRule,
    PropertyRule,
    Rule,
    ScoringModel,
)
from . import spine
from . import values as V
from .conditions import evaluate, test_of
from .decay import decay_factor
from .horizon import TICK, Horizon
from .result import Event, RuleHit, ScoreResult

EVENT_FIELDS = ("type", "ts", "id", "event_id", "contact_id")

Matcher: TypeAlias = Callable[[Condition | None, bool, int | None], list[Event]]
"""The events (of one contact, up to the scoring time) that match a filter (None: every
event), counting from the stage entry (when the group resets on it) and within a window
of seconds (None: no window)."""


def to_event(raw: Event | Mapping[str, Any]) -> Event:
    """Accept an :class:`Event` or a mapping with ``type``, ``ts`` and attributes."""
    if isinstance(raw, Event):
        return raw
    if "type" not in raw or V.is_missing(raw.get("type")):
        raise DataError("an event has no 'type'", hint="every event needs a type, e.g. page_view")
    if "ts" not in raw:
        raise DataError("an event has no 'ts' (its time)", hint="add ts: 2026-03-01T14:30:00Z")
    try:
        ts = V.timestamp(raw["ts"])
    except V.TimestampError as exc:
        raise DataError(str(exc), column="ts") from None
    attrs = {k: v for k, v in raw.items() if k not in EVENT_FIELDS and k != "attributes"}
    if isinstance(raw.get("attributes"), Mapping):
        attrs.update(raw["attributes"])
    key = raw.get("event_id", raw.get("id"))
    return Event(
        type=str(raw["type"]), ts=ts, id=None if V.is_missing(key) else str(key), attributes=attrs
    )


def dedupe(events: Iterable[Event]) -> list[Event]:
    """Drop repeated deliveries: one event per id, the earliest (then smallest type)."""
    keep: dict[str, Event] = {}
    out: list[Event] = []
    for ev in events:
        if ev.id is None:
            out.append(ev)
            continue
        prior = keep.get(ev.id)
        if prior is None or (ev.ts, ev.type) < (prior.ts, prior.type):
            keep[ev.id] = ev
    out.extend(keep.values())
    return out


def _limit_key(per: str, ev: Event) -> date | str | None:
    if per == "ever":
        return None
    if per == "day":
        return ev.ts.date()
    return V.text(ev.attributes.get(per))


def _event_rule(
    rule: EventRule,
    decay: Decay,
    events: list[Event],
    as_of: datetime,
    group: str,
    horizon: Horizon | None = None,
) -> RuleHit:
    if rule.limit is not None:
        by_key: dict[date | str | None, list[Event]] = {}
        for ev in events:
            by_key.setdefault(_limit_key(rule.limit.per, ev), []).append(ev)
        kept: list[Event] = []
        for bucket in by_key.values():
            bucket.sort(key=lambda e: e.ts, reverse=True)
            kept.extend(bucket[: rule.limit.count])
        events = kept
    if horizon is not None:
        horizon.decay(decay, rule.points, events)
    decayed = sum(
        rule.points * decay_factor(decay, (as_of - ev.ts).total_seconds()) for ev in events
    )
    return event_hit(group, rule, decay, len(events), decayed)


def event_hit(group: str, rule: EventRule, decay: Decay, n: int, decayed: float) -> RuleHit:
    """An event rule's line of the breakdown from its ``n`` matching events (after the
    limit) and their decayed points: the cap, and the limit and decay it names. The
    sweep's database path (``service/sweep_sql.py``) builds its lines with it too."""
    points, capped = decayed, False
    if rule.max_points is not None and abs(decayed) > rule.max_points:
        points, capped = (rule.max_points if decayed > 0 else -rule.max_points), True
    details = []
    if rule.limit is not None:
        details.append(f"≤{rule.limit.count}/{rule.limit.per}")
    if decay.kind != "none":
        details.append(decay.kind.replace("_", "-"))
    return RuleHit(
        group=group,
        rule=rule.name,
        kind="event",
        fired=n > 0,
        matched=n,
        points_raw=rule.points * n,
        points_decayed=decayed,
        points=points if n else 0.0,
        capped=capped,
        detail=", ".join(details) or None,
    )


def score_contact(
    model: ScoringModel,
    contact: Mapping[str, Any],
    events: Iterable[Event | Mapping[str, Any]] = (),
    *,
    as_of: datetime | str | None = None,
    horizon: Horizon | None = None,
) -> ScoreResult:
    """Score one contact as of ``as_of`` (default: now, UTC).

    ``contact`` maps property names to values (``id`` is its identifier);
    ``events`` are :class:`Event` objects or mappings with ``type``, ``ts`` and
    attributes. Events after ``as_of`` are ignored; repeated deliveries (same
    ``id``) count once. A ``horizon`` (made for the same ``as_of``) is filled with
    what may change the score later by time alone (see :mod:`.horizon`).
    """
    when = datetime.now(UTC) if as_of is None else V.timestamp(as_of)
    deduped = dedupe(to_event(e) for e in events)
    all_events = [e for e in deduped if e.ts <= when]
    if horizon is not None:
        horizon.ahead(e for e in deduped if e.ts > when)
    records = [(e, e.record()) for e in all_events]
    entered_at = V.optional_timestamp(contact.get(model.lifecycle.entered_at_property))

    def matching(cond: Condition | None, group_reset: bool, within: int | None) -> list[Event]:
        lower = when - timedelta(seconds=within) if within is not None else None
        if group_reset and entered_at is not None:
            lower = entered_at if lower is None else max(lower, entered_at)
        test = None if cond is None else test_of(cond)
        found = [
            e
            for e, rec in records
            if (lower is None or e.ts >= lower) and (test is None or test(rec))
        ]
        if horizon is not None and within is not None:
            horizon.leave(found, within)
        return found

    breakdown: list[RuleHit] = []
    groups: dict[str, float] = {}
    for gname, group in model.groups.items():
        hits = []
        for i, rule in enumerate(group.rules):
            if horizon is not None:
                horizon.where = (gname, i)
            hits.append(
                _rule_hit(
                    model, gname, group.reset_on_stage, rule, contact, matching, when, horizon
                )
            )
        breakdown += hits
        groups[gname] = spine.group_score(group, [h.points for h in hits])

    reasons: list[str] = []
    for exc in model.exclusions:
        if exc.when is not None:
            hit = evaluate(exc.when, contact)
        else:
            hit = bool(matching(exc.on, False, exc.within))
        if hit:
            reasons.append(exc.name)
    excluded = bool(reasons)
    phase = model.phase_of(contact.get(model.lifecycle.stage_property))
    spined = spine.outcome(model, groups, excluded=excluded, phase=phase)
    cell = spine.matrix_of(model, groups)

    cid = contact.get("id", contact.get("contact_id"))
    return ScoreResult(
        model=model.name,
        contact_id=None if cid is None else str(cid),
        as_of=when,
        groups=groups,
        total=spined.total,
        grade=spined.grade,
        stage=spined.stage,
        excluded=excluded,
        matrix=None if cell is None else cell[0],
        quadrant=None if cell is None else cell[1],
        exclusion_reasons=tuple(reasons),
        rules_fired=sum(1 for h in breakdown if h.fired),
        breakdown=tuple(breakdown),
        phase=phase,
    )


def static_hit(
    group: str, rule: PropertyRule | CompletenessRule, record: Mapping[str, Any]
) -> RuleHit:
    """What a rule that reads only properties gives a record: a contact's, or an
    account's (the account section's property and completeness rules)."""
    if isinstance(rule, PropertyRule):
        if rule.cases:
            for i, case in enumerate(rule.cases, start=1):
                if evaluate(case.when, record):
                    return _fixed(group, rule, case.points, f"case {i}")
            if rule.otherwise:
                return _fixed(group, rule, rule.otherwise, "else")
            return RuleHit(group=group, rule=rule.name, kind="property", fired=False)
        assert rule.when is not None and rule.points is not None, "validated: when + points"
        if evaluate(rule.when, record):
            return _fixed(group, rule, rule.points, None)
        return RuleHit(group=group, rule=rule.name, kind="property", fired=False)
    filled = [p for p in rule.properties if not V.is_missing(record.get(p))]
    pts = rule.points * len(filled)
    return RuleHit(
        group=group,
        rule=rule.name,
        kind="completeness",
        fired=bool(filled),
        matched=len(filled),
        points_raw=pts,
        points_decayed=pts,
        points=pts,
        detail=f"{len(filled)} of {len(rule.properties)} filled",
    )


def _rule_hit(
    model: ScoringModel,
    gname: str,
    reset: bool,
    rule: Rule,
    contact: Mapping[str, Any],
    matching: Matcher,
    when: datetime,
    horizon: Horizon | None = None,
) -> RuleHit:
    if isinstance(rule, PropertyRule | CompletenessRule):
        return static_hit(gname, rule, contact)
    if isinstance(rule, EventRule):
        events = matching(rule.on, reset, rule.within)
        decay = model.effective_decay(gname, rule)
        return _event_rule(rule, decay, events, when, gname, horizon)
    if isinstance(rule, FrequencyRule):
        n = len(matching(rule.on, reset, rule.within))
        fired = n >= rule.at_least
        pts = rule.points if fired else 0.0
        return RuleHit(
            group=gname,
            rule=rule.name,
            kind="frequency",
            fired=fired,
            matched=n,
            points_raw=pts,
            points_decayed=pts,
            points=pts,
            detail=f"{n} events, needs {rule.at_least}",
        )
    if isinstance(rule, InactivityRule):
        seen = matching(rule.on, reset, None)
        last = max((e.ts for e in seen), default=None)
        if last is None:
            fired, detail = rule.or_never, "no matching event ever"
        else:
            fired = last < when - timedelta(seconds=rule.inactive_for)
            if horizon is not None and not fired:  # fires once the period has run out
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
    raise TypeError(f"unknown rule {rule!r}")


def _fixed(gname: str, rule: PropertyRule, pts: float, detail: str | None) -> RuleHit:
    return RuleHit(
        group=gname,
        rule=rule.name,
        kind="property",
        fired=True,
        matched=0,
        points_raw=pts,
        points_decayed=pts,
        points=pts,
        detail=detail,
    )

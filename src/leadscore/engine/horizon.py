"""When a contact's score can next change by time alone.

A score is computed *as of* a time; later, with no new input, it can move only
because of time: an event leaves a window (``within``), a decay step or an expiry
is passed, an inactivity period runs out, an event stamped later than the scoring
time comes into view, and continuous decay (``half_life``, ``linear``) wears the
points down. The service stores, with each score, the first instant at which any
of that may change what the score shows, and its time sweep rescores only the
contacts whose instant has come.

Two kinds of change, two answers:

* **Steps** (windows, ``steps`` and ``expires`` decay, inactivity, events ahead of
  the scoring time) change a score at known instants. Between two of them the score
  is constant, to the last bit: the next one is exact.
* **Continuous decay** changes the score at every instant, so no later instant is
  exact. What matters is what people and triggers see: the shown (rounded) total and
  group scores, the grade, the stage, the threshold and trigger values.
  :class:`Horizon` bounds how fast time can move each rule's points (in each
  direction), carries that bound through
  caps, group sums, weighted means, clamps and the total (all of them move a value
  no faster than their inputs, and a clamp that is held beyond its bound by a margin
  does not move at all until the margin is used up), and takes the first instant at
  which the total or a group *could* reach a value where what it shows changes. That
  instant is never later than the real change; it may be earlier (the contact is
  then rescored a little early and gets a new instant).

:func:`next_change` gives that instant for one result. What counts as "a value where
what it shows changes" is a :class:`Watch`, built from the model by the caller (the
service adds its trigger bands and the rounding of shown scores).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..model.conditions import AllOf, AnyOf, Condition, Not, Predicate
from ..model.schema import Decay, EventRule, FrequencyRule, InactivityRule, ScoringModel
from . import spine
from .result import Event, ScoreResult

TICK = timedelta(microseconds=1)
"""The smallest step of a stored time: a value that holds while ``t <= b`` changes at
``b + TICK``."""
SAFETY = 1e-6  # share of a continuous interval given up against rounding in the bounds
FAR = 100 * 365 * 86400.0  # seconds: beyond this a continuous bound is "never"


@dataclass
class Drift:
    """How fast (points per second) time can move a value down and up, at most."""

    down: float = 0.0
    up: float = 0.0

    def __bool__(self) -> bool:
        return self.down > 0 or self.up > 0

    def scaled(self, weight: float) -> Drift:
        if weight >= 0:
            return Drift(self.down * weight, self.up * weight)
        return Drift(self.up * -weight, self.down * -weight)

    def __add__(self, other: Drift) -> Drift:
        return Drift(self.down + other.down, self.up + other.up)


@dataclass
class Horizon:
    """What scoring one contact as of ``as_of`` learnt about its future: the instants
    where a step may change it, and the drift of each event rule's decayed points (by
    group and the rule's position in it). The in-process evaluator fills it."""

    as_of: datetime
    instants: list[datetime] = field(default_factory=list)
    drift: dict[tuple[str, int], Drift] = field(default_factory=dict)
    where: tuple[str, int] = ("", 0)  # the rule being scored

    def at(self, when: datetime) -> None:
        """A step may change the score at ``when`` (kept only when it is ahead)."""
        if when > self.as_of:
            self.instants.append(when)

    def ahead(self, events: Iterable[Event]) -> None:
        """Events stamped after the scoring time come into view at their time."""
        for e in events:
            self.at(e.ts)

    def leave(self, events: Iterable[Event], seconds: int) -> None:
        """Events counted within a window of ``seconds`` leave it just after
        ``ts + seconds`` (a window keeps ``ts >= as_of - seconds``)."""
        span = timedelta(seconds=seconds) + TICK
        for e in events:
            self.at(e.ts + span)

    def decay(self, decay: Decay, points: float, events: Sequence[Event]) -> None:
        """The decay of an event rule's counted events: the instants of its steps, or
        the drift of its continuous decay (attached to the rule being scored)."""
        kind = decay.kind
        if kind == "none" or not events or points == 0:
            return
        if kind == "steps":
            for step in decay.steps:
                self.leave(events, step.until)
            return
        seconds = decay.seconds
        assert seconds is not None, "validated: half_life, linear and expires have seconds"
        if kind == "expires":
            self.leave(events, seconds)
            return
        rate = 0.0
        for e in events:
            age = (self.as_of - e.ts).total_seconds()
            if kind == "half_life":  # |d/dt 0.5**(age/h)| = ln2/h * factor, falling with age
                rate += math.log(2) / seconds * 0.5 ** (age / seconds)
            elif age < seconds:  # linear: 1/L until the factor reaches 0, then still
                rate += 1.0 / seconds
        rate *= abs(points)
        # positive points only wear down with time, negative ones only up (towards 0)
        move = Drift(down=rate) if points > 0 else Drift(up=rate)
        self.drift[self.where] = self.drift.get(self.where, Drift()) + move


@dataclass(frozen=True)
class Watch:
    """The values of the total and of each group at which what a score shows changes:
    ``marks`` by score name (``total`` or a group), ``restless`` names whose every
    change shows (a text test on a score), ``step`` the rounding of the shown total
    and group scores (0.1 for one decimal; None: the exact values are shown)."""

    marks: Mapping[str, tuple[float, ...]]
    restless: frozenset[str] = frozenset()
    step: float | None = None


def score_marks(cond: Condition, fields: set[str]) -> tuple[dict[str, set[float]], set[str]]:
    """The numbers a condition on scores compares each of ``fields`` with, and the fields
    it reads in a way any change may flip (text tests on a number)."""
    marks: dict[str, set[float]] = {}
    restless: set[str] = set()

    def walk(c: Condition) -> None:
        if isinstance(c, Predicate):
            if c.field not in fields or c.op in ("exists", "missing"):
                return  # a score is always present
            if c.op in ("contains", "starts_with", "ends_with", "matches"):
                restless.add(c.field)
                return
            values = c.value if isinstance(c.value, tuple) else (c.value,)
            for v in values:
                if isinstance(v, bool):
                    marks.setdefault(c.field, set()).update((0.0, 1.0))
                elif isinstance(v, int | float):
                    marks.setdefault(c.field, set()).add(float(v))
                elif isinstance(v, str):
                    try:
                        n = float(v.strip())
                    except ValueError:
                        continue  # a word no number's text equals
                    if math.isfinite(n):
                        marks.setdefault(c.field, set()).add(n)
                    else:
                        restless.add(c.field)
            return
        if isinstance(c, Not):
            walk(c.item)
            return
        if isinstance(c, AllOf | AnyOf):
            for item in c.items:
                walk(item)

    walk(cond)
    return marks, restless


def model_watch(model: ScoringModel, step: float | None = None) -> Watch:
    """What a model's own spine shows: its thresholds' numbers, its grade minimums, its
    matrix's letter and band minimums."""
    fields = {"total", *model.groups}
    marks: dict[str, set[float]] = {}
    restless: set[str] = set()
    for th in model.thresholds:
        m, r = score_marks(th.when, fields)
        for k, vs in m.items():
            marks.setdefault(k, set()).update(vs)
        restless |= r
    if model.grades is not None and model.grades.group in model.groups:
        marks.setdefault(model.grades.group, set()).update(m for _, m in model.grades.letters)
    axes = model.matrix_axes  # the cell (and the stages reading it) moves at these
    if axes is not None:
        marks.setdefault(axes.fit, set()).update(m for _, m in axes.letters)
        marks.setdefault(axes.engagement, set()).update(axes.bands)
    return Watch({k: tuple(sorted(v)) for k, v in marks.items()}, frozenset(restless), step)


def next_change(
    model: ScoringModel,
    result: ScoreResult,
    horizon: Horizon,
    watch: Watch,
    *,
    total: float | None = None,
    adjustment: float = 0.0,
) -> datetime | None:
    """The first instant after ``horizon.as_of`` at which ``result`` may show something
    else by time alone (None: never). ``total`` is the total shown (with manual
    ``adjustment`` points added to the engine's total), default the engine's."""
    as_of = horizon.as_of
    instants = list(horizon.instants)
    seconds: list[float] = []  # continuous intervals, from as_of

    def held(value: float, low: float | None, high: float | None, d: Drift) -> Drift:
        """A clamp to [low, high] of a value drifting by ``d``: still while held beyond a
        bound (until the margin is used up), else as fast as the value."""
        if high is not None and value > high:
            if d.down > 0:
                seconds.append((value - high) / d.down)
            return Drift()
        if low is not None and value < low:
            if d.up > 0:
                seconds.append((low - value) / d.up)
            return Drift()
        return d

    hits = {(h.group, h.rule): h for h in result.breakdown}
    groups: dict[str, Drift] = {}
    for gname, group in model.groups.items():
        drifts: list[Drift] = []
        for i, rule in enumerate(group.rules):
            d = horizon.drift.get((gname, i), Drift())
            hit = hits.get((gname, rule.name))
            if d and isinstance(rule, EventRule) and rule.max_points is not None and hit:
                cap = float(rule.max_points)
                d = held(hit.points_decayed, -cap, cap, d)
            drifts.append(d)
        if not any(drifts):
            groups[gname] = Drift()
            continue
        points = [hits[(gname, r.name)].points for r in group.rules]
        if group.combine == "weighted_mean":
            weights = [r.weight for r in group.rules]
            norm = sum(weights)
            raw = sum(p * w for p, w in zip(points, weights, strict=True)) / norm
            d = sum((x.scaled(w / norm) for x, w in zip(drifts, weights, strict=True)), Drift())
        else:
            raw, d = sum(points), sum(drifts, Drift())
        groups[gname] = held(raw, group.min, group.max, d)

    shown = result.total if total is None else total
    watched: list[tuple[str, float, Drift]] = [
        (g, result.groups[g], d) for g, d in groups.items() if d
    ]
    if not result.excluded and any(groups.values()):
        if model.total.weights is not None:
            parts = [groups[g].scaled(w) for g, w in model.total.weights.items()]
        else:
            parts = list(groups.values())
        scale = model.scale
        d = held(spine.raw_total(model, result.groups), scale.min, scale.max, sum(parts, Drift()))
        if adjustment and d:
            d = held(result.total + adjustment, scale.min, scale.max, d)
        if d:
            watched.append(("total", shown, d))

    for name, value, d in watched:
        if name in watch.restless:
            seconds.append(0.0)
            continue
        marks = list(watch.marks.get(name, ()))
        if watch.step is not None:
            lo = (math.floor(value / watch.step - 0.5) + 0.5) * watch.step
            marks += [lo, lo + watch.step]
        slack = 1e-9 * max(1.0, abs(value))
        below = max((m for m in marks if m <= value + slack), default=None)
        above = min((m for m in marks if m >= value - slack), default=None)
        if d.down > 0 and below is not None:
            seconds.append(max(0.0, value - below - slack) / d.down)
        if d.up > 0 and above is not None:
            seconds.append(max(0.0, above - value - slack) / d.up)

    for s in seconds:
        if s < FAR:
            micro = math.floor(s * (1 - SAFETY) * 1e6)
            instants.append(as_of + timedelta(microseconds=max(micro, 1)))
    if not instants:
        return None
    return max(min(instants), as_of + TICK)


def lookback(model: ScoringModel) -> int | None:
    """How far back (seconds before the scoring time) an event can still count under
    the model: the longest window of its event rules, frequency rules and event
    exclusions. None when any event may count however old (a rule or an exclusion
    without a window, an inactivity rule, a trained model, an account section)."""
    if model.predicted is not None or model.account is not None:
        return None
    spans = [0]
    for _, rule in model.rules():
        if isinstance(rule, InactivityRule):
            return None
        if isinstance(rule, EventRule | FrequencyRule):
            if rule.within is None:
                return None
            spans.append(rule.within)
    for x in model.exclusions:
        if x.on is not None:
            if x.within is None:
                return None
            spans.append(x.within)
    return max(spans)

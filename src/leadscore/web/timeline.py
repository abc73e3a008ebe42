"""A contact's story under one model: what each event, adjustment and quiet spell did.

The score is replayed over time: just before and just after each recent event (and
each adjustment, and each moment an inactivity rule starts to fire) the contact is
scored again, so each entry carries the points it really added, with caps, group
bounds and the scale applied, and the rules it moved. A stage reached along the way
is an entry of its own ("entered MQL").
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..engine.conditions import evaluate
from ..model import InactivityRule
from ..service.published import Published
from ..service.scoring import Adjusted, score_one, to_events
from .base import signed

SAMPLES = 48  # evenly spaced points of the chart, besides the entries
MIN_DAYS = 30
MAX_DAYS = 365
LINE_EVENTS = 120  # the latest events get a point of their own on the line
RECENT_EVENTS = 60  # and the latest of those are replayed one by one, with their points
ATTRIBUTE_KEYS = ("url", "form_id", "asset_id", "email_id", "webinar_id", "title")
FIRST_KEY = {  # the attribute that names what the event was about, by event type
    "form_submit": "form_id",
    "asset_download": "asset_id",
    "email_sent": "email_id",
    "email_open": "email_id",
}
VERBS = {
    "page_view": "Visited",
    "email_sent": "E-mail sent:",
    "email_open": "Opened e-mail",
    "email_click": "Clicked in e-mail",
    "form_submit": "Submitted form",
    "asset_download": "Downloaded",
    "webinar_registered": "Registered for webinar",
    "webinar_attended": "Attended webinar",
}


@dataclass(frozen=True)
class Entry:
    """One line of the story: ``points`` is None for a stage change."""

    at: datetime
    kind: str  # event type, "adjustment", "inactivity", "stage" or "profile"
    text: str
    points: float | None = None
    rules: tuple[tuple[str, float], ...] = ()
    held: tuple[str, ...] = ()  # rules the event matched that were at their cap already

    @property
    def because(self) -> str:
        """The rules that moved, as "(Pricing page)" or "(Pricing page +5, Page views +1)",
        then the ones at their cap: "(Page views at its cap)"."""
        parts = []
        if len(self.rules) == 1:
            parts.append(self.rules[0][0])
        elif self.rules:
            parts.append(", ".join(f"{name} {signed(p)}" for name, p in self.rules))
        if self.held:
            parts.append(
                ", ".join(self.held) + (" at its cap" if len(self.held) == 1 else " at their caps")
            )
        return f"({'; '.join(parts)})" if parts else ""

    @property
    def line(self) -> str:
        """The whole line as text: "+10 Visited /pricing (Pricing page)"."""
        head = "" if self.points is None else signed(self.points) + " "
        return f"{head}{self.text} {self.because}".strip()


@dataclass
class Story:
    series: list[tuple[datetime, float]] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)  # oldest first


def event_phrase(event: Any) -> str:
    """An event as people say it: "Visited /pricing", "Submitted form demo"."""
    attrs = event.attributes or {}
    keys = (FIRST_KEY.get(event.type, "url"), *ATTRIBUTE_KEYS)
    detail = next((str(attrs[k]) for k in keys if attrs.get(k)), "")
    verb = VERBS.get(event.type) or str(event.type).replace("_", " ").capitalize()
    return f"{verb} {detail}".strip()


def _rule_points(adj: Adjusted) -> dict[tuple[str, str], float]:
    return {
        (h["group"], h["rule"]): h["points"] for h in adj.breakdown if h["kind"] != "adjustment"
    }


def _moved(before: Adjusted, after: Adjusted) -> tuple[tuple[str, float], ...]:
    old, new = _rule_points(before), _rule_points(after)
    out = []
    for key in new.keys() | old.keys():
        delta = new.get(key, 0.0) - old.get(key, 0.0)
        if abs(delta) >= 0.05:
            out.append((key[1], delta))
    # biggest first, so the line names what mattered most
    return tuple(sorted(out, key=lambda r: (-abs(r[1]), r[0])))


def _held(before: Adjusted, after: Adjusted) -> tuple[str, ...]:
    """Rules that counted one more event and gave no more points: at their cap."""
    old = {(h["group"], h["rule"]): h for h in before.breakdown if h["kind"] != "adjustment"}
    out = []
    for h in after.breakdown:
        was = old.get((h["group"], h["rule"]))
        if (
            was is not None
            and h["capped"]
            and h["matched"] > was["matched"]
            and abs(h["points"] - was["points"]) < 0.05
        ):
            out.append(h["rule"])
    return tuple(out)


def _stage(adj: Adjusted) -> str | None:
    return "excluded" if adj.result.excluded else adj.stage


def _quiet_moments(pub: Published, events: list[Any], start: datetime, now: datetime):
    """(time, rule name) for each moment an inactivity rule starts to fire."""
    out = []
    for group in pub.model.groups.values():
        for rule in group.rules:
            if not isinstance(rule, InactivityRule):
                continue
            seen = [
                e.ts
                for e, engine_event in zip(events, to_events(events), strict=True)
                if rule.on is None or evaluate(rule.on, engine_event.record())
            ]
            for i, ts in enumerate(seen):
                quiet = ts + timedelta(seconds=rule.inactive_for)
                following = seen[i + 1] if i + 1 < len(seen) else now
                if start <= quiet < following and quiet < now:
                    out.append((quiet, rule.name))
    return out


def story(
    pub: Published,
    contact: Any,
    events: list[Any],
    adjustments: list[dict],
    now: datetime,
    entry: Any = None,
) -> Story:
    """The score over time and the entries that explain it, under ``pub``; ``entry`` is
    the contact's recorded stage (service/stages.py), read from the time it was entered."""
    events = sorted(events, key=lambda e: e.ts)
    times = [e.ts for e in events]
    adjustments = sorted(adjustments, key=lambda a: a["created_at"])
    adj_times = [a["created_at"] for a in adjustments]
    first = min([*times[:1], *adj_times[:1], now])
    start = max(first - timedelta(days=2), now - timedelta(days=MAX_DAYS))
    start = min(start, now - timedelta(days=MIN_DAYS))
    predicted = pub.model.predicted
    predict = predicted is not None and bool(getattr(predicted, "weight", 0))

    def score(at: datetime, upto: datetime, *, inclusive: bool = True) -> Adjusted:
        cut = bisect.bisect_right if inclusive else bisect.bisect_left
        seen = events[: cut(times, upto)]
        adj = adjustments[: cut(adj_times, upto)]
        fact = entry if entry is not None and entry.entered_at <= at else None
        return score_one(pub, contact, seen, adj, at, predict=predict, horizon=False, stage=fact)

    # (time, order, kind, payload): samples and replayed moments, in time order
    moments: list[tuple[datetime, int, str, Any]] = []
    step = (now - start) / SAMPLES
    moments += [(start + step * i, 0, "sample", None) for i in range(1, SAMPLES)]
    moments.append((now, 3, "sample", None))
    recent = {e.ts for e in events[-RECENT_EVENTS:] if e.ts >= start}
    on_line = {e.ts for e in events[-LINE_EVENTS:] if e.ts >= start} - recent
    moments += [(ts, 0, "line", None) for ts in sorted(on_line)]
    moments += [(ts, 1, "event", ts) for ts in sorted(recent)]
    moments += [
        (a["created_at"], 1, "adjustment", a) for a in adjustments if a["created_at"] >= start
    ]
    moments += [(t, 2, "inactivity", name) for t, name in _quiet_moments(pub, events, start, now)]
    replayed = {m[0] for m in moments if m[2] not in ("sample", "line")}
    moments = [m for m in moments if m[2] != "sample" or m[0] not in replayed]
    moments.sort(key=lambda m: (m[0], m[1]))

    out = Story()
    initial = score(start, start)
    out.series.append((start, initial.total))
    profile = tuple(
        (h["rule"], h["points"])
        for h in initial.breakdown
        if h["points"] and h["kind"] in ("property", "completeness")
    )
    if profile:
        # what the profile gives, after the groups' bounds and the scale
        total = initial.total - pub.model.scale.min
        out.entries.append(Entry(start, "profile", "From the profile", total, profile))
    stage = _stage(initial)
    done_events: set[datetime] = set()
    for at, _, kind, payload in moments:
        if kind in ("sample", "line"):
            after = score(at, at)
        elif kind == "event":
            if payload in done_events:
                continue
            done_events.add(payload)
            before, after = score(at, at, inclusive=False), score(at, at)
            same = events[bisect.bisect_left(times, at) : bisect.bisect_right(times, at)]
            text = "; ".join(event_phrase(e) for e in same)
            kind = str(same[0].type)
        elif kind == "adjustment":
            before, after = score(at, at, inclusive=False), score(at, at)
            text = f"Adjusted by {payload['author']}: {payload['reason']}"
        else:  # an inactivity rule starts to fire just after ``at``
            before, after = score(at, at), score(at + timedelta(seconds=1), at)
            text = payload
        if kind not in ("sample", "line"):
            out.series.append((at, before.total))
            moved = _moved(before, after)
            if kind == "inactivity":  # the rule's own name says it: "−20 Gone quiet"
                moved = tuple(r for r in moved if r[0] != payload)
            held = _held(before, after) if kind not in ("adjustment", "inactivity") else ()
            out.entries.append(Entry(at, kind, text, after.total - before.total, moved, held))
        out.series.append((at, after.total))
        now_stage = _stage(after)
        if now_stage != stage:
            fallback = pub.model.default_stage
            if now_stage is None or (now_stage == fallback and stage is not None):
                words = f"left {stage}" + (f", back to {now_stage}" if now_stage else "")
            elif now_stage == "excluded":
                words = "excluded: " + ", ".join(after.result.exclusion_reasons)
            else:
                words = f"entered {now_stage}"
            if kind == "sample":  # no event here: time went by
                words += " as points faded"
            out.entries.append(Entry(at, "stage", words))
            stage = now_stage
    return out

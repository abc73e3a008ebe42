"""A suggested scorecard: integer points that a marketer can read and edit.

How the points are found:

1. **binning**: each numeric property is cut at quantiles into at most
   ``bins`` ranges; each categorical value held by at least ``min_share`` of
   the contacts (and ``min_count`` of them) is a bin of its own; "missing" is a
   bin too. Everything else (rare values) falls in the rule's ``else``.
2. **selection**: an L1-penalised logistic regression on the bin indicators,
   with the strongest penalty of a path that keeps at most ``max_rules`` bins;
3. **points**: the kept bins are refitted with a light L2 penalty, and their
   log-odds are scaled so that the lowest possible total is 0 and the highest
   100, then rounded to integers. Within a property the lowest bin gets 0
   points, so no points are negative.

**Event counts.** A table column named like an event count of
:mod:`leadscore.predict.features` (``event:TYPE`` for all time,
``event:TYPE:Nd`` within N days) is a candidate *event rule*: points per event,
up to a cap. Its count is capped at the 95th percentile of the contacts that
have any (:data:`EVENT_CAP_QUANTILE`), scaled to 0–1, and enters the selection
beside the bins (of one event type, only the strongest window is kept); a kept
one becomes ``points`` per event (at least 1) and
``max_points`` (the log-odds at the cap), so the rule gives
``min(points × count, max_points)``. Only counts that raise the odds are kept
(a count that lowers them is dropped and the rest refitted): points stay
positive. Other event features (days since, sources) are not rules and are
ignored.

Bins follow the value semantics of the model language exactly (numbers as
:func:`leadscore.engine.values.number` reads them, text compared
case-insensitively), so the written model scores every contact with the same
points as :meth:`Scorecard.points`.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import yaml
from sklearn.linear_model import LogisticRegression

from ..engine import values as V
from .estimators import as_outcome, fit_platt, sigmoid
from .features import EVENT_PREFIX, FIXED_EVENT_FEATURES
from .table import IDENTIFIER_MIN_DISTINCT, IDENTIFIER_SHARE, NUMERIC_SHARE, Table, n_rows

#: penalties tried, weakest selection last
C_PATH = tuple(float(c) for c in np.logspace(-3.5, 1, 40))
#: penalty of the refit on the kept bins
REFIT_C = 1.0
SCALE_MAX = 100
#: an event count is capped at this quantile of the counts of contacts that have any
EVENT_CAP_QUANTILE = 0.95


@dataclass(frozen=True)
class EventTerm:
    """A candidate event rule: the count of one event type (within a window), capped."""

    column: str  # the feature column, e.g. "event:page_view:30d"
    type: str
    within_days: int | None
    cap: int  # events counted at most

    @property
    def name(self) -> str:
        if self.within_days is None:
            return f"{self.type} events"
        return f"{self.type} events in the last {self.within_days} days"

    def counts(self, table: Table) -> np.ndarray:
        raw = table.get(self.column)
        if raw is None:
            return np.zeros(n_rows(table))
        return np.nan_to_num(np.asarray(raw, dtype=np.float64), nan=0.0)


def event_term(column: str, raw: Sequence[Any]) -> EventTerm | None:
    """The event rule a table column stands for, or None when it is not an event count."""
    if not column.startswith(EVENT_PREFIX):
        return None
    name = column[len(EVENT_PREFIX) :]
    if name in FIXED_EVENT_FEATURES:
        return None
    kind, _, window = name.rpartition(":")
    within = None
    if kind and window.endswith("d") and window[:-1].isdigit():
        name, within = kind, int(window[:-1])
    counts = np.nan_to_num(np.asarray(raw, dtype=np.float64), nan=0.0)
    some = counts[counts > 0]
    if len(some) == 0:
        return None
    cap = max(1, int(np.quantile(some, EVENT_CAP_QUANTILE, method="lower")))
    return EventTerm(column, name, within, cap)


@dataclass(frozen=True)
class Bin:
    """One bin of a property: a condition in the model language and its test."""

    column: str
    kind: str  # "missing", "range", "value"
    low: float | None = None  # range: low <= x (None: no lower end)
    high: float | None = None  # range: x < high (None: no upper end)
    value: str | None = None  # value: the text, compared case-insensitively

    def matches(self, raw: Any) -> bool:
        if self.kind == "missing":
            return V.is_missing(raw)
        if self.kind == "range":
            x = V.number(raw)
            return (
                x is not None
                and (self.low is None or x >= self.low)
                and (self.high is None or x < self.high)
            )
        t = V.text(raw)
        return t is not None and t.lower() == str(self.value).lower()

    def condition(self) -> dict[str, Any]:
        if self.kind == "missing":
            return {self.column: {"missing": True}}
        if self.kind == "range":
            test: dict[str, Any] = {}
            if self.low is not None:
                test["gte"] = _num(self.low)
            if self.high is not None:
                test["lt"] = _num(self.high)
            return {self.column: test}
        return {self.column: self.value}

    def describe(self) -> str:
        if self.kind == "missing":
            return f"{self.column} is missing"
        if self.kind == "range":
            if self.low is None:
                return f"{self.column} < {_num(self.high)}"
            if self.high is None:
                return f"{self.column} >= {_num(self.low)}"
            return f"{_num(self.low)} <= {self.column} < {_num(self.high)}"
        return f"{self.column} = {self.value}"


def _num(x: float | None) -> float | int | None:
    if x is None:
        return None
    return int(x) if float(x).is_integer() else float(x)


def _bins_for(column: str, raw: Sequence[Any], max_bins: int, min_rows: int) -> list[Bin]:
    present = [v for v in raw if not V.is_missing(v)]
    out: list[Bin] = []
    if len(raw) - len(present) >= min_rows:
        out.append(Bin(column, "missing"))
    if not present:
        return out
    numbers = [x for x in (V.number(v) for v in present) if x is not None]
    if len(numbers) >= NUMERIC_SHARE * len(present):
        arr = np.asarray(numbers)
        if float(len(np.unique(arr))) == len(arr) and len(arr) >= IDENTIFIER_MIN_DISTINCT:
            return []  # identifier-like
        edges = np.unique(np.quantile(arr, np.linspace(0, 1, max_bins + 1)[1:-1], method="lower"))
        edges = [e for e in edges if (arr < e).sum() >= min_rows and (arr >= e).sum() >= min_rows]
        bounds = [None, *edges, None]
        for lo, hi in itertools.pairwise(bounds):
            out.append(Bin(column, "range", low=lo, high=hi))
        return out
    counts = Counter(str(V.text(v)).lower() for v in present)
    if len(counts) >= IDENTIFIER_MIN_DISTINCT and len(counts) > IDENTIFIER_SHARE * len(present):
        return []
    spelling: dict[str, Counter] = {}
    for v in present:
        text = str(V.text(v))
        spelling.setdefault(text.lower(), Counter())[text] += 1
    for key, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if count >= min_rows:
            label = min(spelling[key].items(), key=lambda kv: (-kv[1], kv[0]))[0]
            out.append(Bin(column, "value", value=label))
    return out


class Scorecard:
    """Binning, L1 selection and integer points on a 0–100 scale (see the module doc)."""

    def __init__(
        self,
        *,
        max_rules: int = 25,
        bins: int = 5,
        min_share: float = 0.01,
        min_count: int = 20,
        seed: int = 0,
    ) -> None:
        self.max_rules = max_rules
        self.bins = bins
        self.min_share = min_share
        self.min_count = min_count
        self.seed = seed

    def _indicators(self, table: Table, bins: Sequence[Bin]) -> np.ndarray:
        n = n_rows(table)
        out = np.zeros((n, len(bins)))
        for j, b in enumerate(bins):
            raw = table.get(b.column)
            if raw is None:
                if b.kind == "missing":
                    out[:, j] = 1.0
                continue
            out[:, j] = [b.matches(v) for v in raw]
        return out

    def fit(self, table: Table, y: Sequence[Any]) -> Scorecard:
        y = as_outcome(y)
        n = len(y)
        min_rows = max(self.min_count, int(np.ceil(self.min_share * n)))
        candidates: list[Bin] = []
        terms: list[EventTerm] = []
        for column, raw in table.items():
            if column.startswith(EVENT_PREFIX):
                term = event_term(column, raw)
                if term is not None and (term.counts(table) > 0).sum() >= min_rows:
                    terms.append(term)
                continue
            candidates.extend(_bins_for(column, raw, self.bins, min_rows))
        design = np.hstack(
            [
                self._indicators(table, candidates),
                self._event_design(table, terms).reshape(n, len(terms)),
            ]
        )
        n_bins = len(candidates)
        keep: np.ndarray = np.zeros(design.shape[1], dtype=bool)
        if self.max_rules > 0 and design.shape[1]:
            for c in C_PATH:
                model = LogisticRegression(
                    l1_ratio=1.0,
                    solver="liblinear",
                    C=c,
                    max_iter=2000,
                    random_state=self.seed,
                ).fit(design, y)
                strength = np.abs(model.coef_[0]) * design.std(axis=0)
                nonzero = strength > 1e-8
                nonzero[n_bins:] &= model.coef_[0][n_bins:] > 0  # event points stay positive
                if nonzero.sum() > self.max_rules:
                    # the path jumped past the limit: keep the strongest bins of this step
                    # when that gives more than the previous step kept
                    top = np.argsort(-np.where(nonzero, strength, -1.0), kind="stable")
                    keep = np.zeros(design.shape[1], dtype=bool)
                    keep[top[: self.max_rules]] = True
                    break
                keep = nonzero
            keep = self._one_window_per_type(keep, terms, n_bins, strength)
        weights = np.zeros(0)
        while keep.any():
            refit = LogisticRegression(C=REFIT_C, max_iter=5000).fit(design[:, keep], y)
            weights = refit.coef_[0]
            cols = np.flatnonzero(keep)
            negative = (cols >= n_bins) & (weights <= 0)
            if not negative.any():
                break
            keep[cols[negative]] = False  # a count that lowers the odds gives no points
            weights = np.zeros(0)
        self.bins_ = [b for b, k in zip(candidates, keep[:n_bins], strict=True) if k]
        self.events_ = [t for t, k in zip(terms, keep[n_bins:], strict=True) if k]
        n_kept_bins = len(self.bins_)
        self._set_points(weights[:n_kept_bins], weights[n_kept_bins:])
        self.calibration_ = fit_platt(self.points(table), y)
        return self

    @staticmethod
    def _one_window_per_type(
        keep: np.ndarray, terms: Sequence[EventTerm], n_bins: int, strength: np.ndarray
    ) -> np.ndarray:
        """Of several kept counts of one event type (all time, 7, 30 days ...), only the
        strongest: one rule per type reads better and the counts overlap."""
        out = keep.copy()
        best: dict[str, int] = {}
        for j, t in enumerate(terms):
            col = n_bins + j
            if not keep[col]:
                continue
            if t.type in best and strength[best[t.type]] >= strength[col]:
                out[col] = False
                continue
            if t.type in best:
                out[best[t.type]] = False
            best[t.type] = col
        return out

    def _event_design(self, table: Table, terms: Sequence[EventTerm]) -> np.ndarray:
        n = n_rows(table)
        out = np.zeros((n, len(terms)))
        for j, t in enumerate(terms):
            out[:, j] = np.minimum(t.counts(table), t.cap) / t.cap
        return out

    def _set_points(self, weights: np.ndarray, event_weights: np.ndarray | None = None) -> None:
        event_weights = np.zeros(0) if event_weights is None else event_weights
        columns = list(dict.fromkeys(b.column for b in self.bins_))
        low = {c: 0.0 for c in columns}
        high = {c: 0.0 for c in columns}
        for b, w in zip(self.bins_, weights, strict=True):
            low[b.column] = min(low[b.column], w)
            high[b.column] = max(high[b.column], w)
        span = sum(high[c] - low[c] for c in columns) + float(np.sum(event_weights))
        factor = SCALE_MAX / span if span > 0 else 0.0
        self.columns_ = columns
        self.points_ = [
            round(factor * (w - low[b.column])) for b, w in zip(self.bins_, weights, strict=True)
        ]
        self.else_points_ = {c: round(factor * -low[c]) for c in columns}
        # per event at least 1 point; the cap is the log-odds at the capped count
        events, per_event, max_points = [], [], []
        for t, w in zip(getattr(self, "events_", []), event_weights, strict=True):
            top = round(factor * w)
            if top < 1:
                continue
            events.append(t)
            per_event.append(max(1, round(factor * w / t.cap)))
            max_points.append(max(per_event[-1], top))
        self.events_ = events
        self.event_points_ = per_event
        self.event_max_points_ = max_points

    def points(self, table: Table) -> np.ndarray:
        """Total integer points of each row, as the written model gives them."""
        n = n_rows(table)
        total = np.zeros(n)
        for column in self.columns_:
            got = np.full(n, float(self.else_points_[column]))
            done = np.zeros(n, dtype=bool)
            for b, pts in zip(self.bins_, self.points_, strict=True):
                if b.column != column:
                    continue
                hit = self._indicators(table, [b])[:, 0].astype(bool) & ~done
                got[hit] = pts
                done |= hit
            total += got
        for t, pts, cap in zip(
            self.events_, self.event_points_, self.event_max_points_, strict=True
        ):
            total += np.minimum(pts * t.counts(table), cap)
        return np.clip(total, 0, SCALE_MAX)

    def predict_proba(self, table: Table) -> np.ndarray:
        a, b = self.calibration_
        p = sigmoid(a * self.points(table) + b)
        return np.column_stack([1.0 - p, p])

    @property
    def n_rules_(self) -> int:
        """Conditions that give points (cases and event rules), what ``max_rules`` limits."""
        return len(self.bins_) + len(self.events_)

    def to_model(self, name: str = "suggested", description: str | None = None) -> dict[str, Any]:
        """The scorecard as a leadscore model (one property rule with cases per property)."""
        rules = []
        for column in self.columns_:
            cases = [
                {"when": b.condition(), "points": pts}
                for b, pts in zip(self.bins_, self.points_, strict=True)
                if b.column == column
            ]
            rule: dict[str, Any] = {"name": column, "cases": cases}
            if self.else_points_[column]:
                rule["else"] = self.else_points_[column]
            rules.append(rule)
        taken = {r["name"] for r in rules}
        for t, pts, cap in zip(
            self.events_, self.event_points_, self.event_max_points_, strict=True
        ):
            rule_name = t.name
            while rule_name in taken:
                rule_name += " (events)"
            taken.add(rule_name)
            event_rule: dict[str, Any] = {
                "name": rule_name,
                "on": {"type": t.type},
                "points": pts,
                "max_points": cap,
            }
            if t.within_days is not None:
                event_rule["within"] = f"{t.within_days}d"
            rules.append(event_rule)
        model: dict[str, Any] = {"name": name}
        if description:
            model["description"] = description
        model["scale"] = {"min": 0, "max": SCALE_MAX}
        model["groups"] = {
            "fit": {"description": "points suggested from past outcomes", "rules": rules}
        }
        return model

    def to_yaml(self, name: str = "suggested", header: str = "") -> str:
        body = yaml.safe_dump(
            self.to_model(name),
            sort_keys=False,
            allow_unicode=True,
            width=100,
            default_flow_style=None,
        )
        lines = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
        return lines + body

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
from .table import IDENTIFIER_MIN_DISTINCT, IDENTIFIER_SHARE, NUMERIC_SHARE, Table, n_rows

#: penalties tried, weakest selection last
C_PATH = tuple(float(c) for c in np.logspace(-3.5, 1, 40))
#: penalty of the refit on the kept bins
REFIT_C = 1.0
SCALE_MAX = 100


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
        for column, raw in table.items():
            candidates.extend(_bins_for(column, raw, self.bins, min_rows))
        design = self._indicators(table, candidates)
        keep: np.ndarray = np.zeros(len(candidates), dtype=bool)
        if self.max_rules > 0 and candidates:
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
                if nonzero.sum() > self.max_rules:
                    # the path jumped past the limit: keep the strongest bins of this step
                    # when that gives more than the previous step kept
                    top = np.argsort(-strength, kind="stable")[: self.max_rules]
                    keep = np.zeros(len(candidates), dtype=bool)
                    keep[top] = True
                    break
                keep = nonzero
        self.bins_ = [b for b, k in zip(candidates, keep, strict=True) if k]
        weights = np.zeros(len(self.bins_))
        if self.bins_:
            refit = LogisticRegression(C=REFIT_C, max_iter=5000).fit(design[:, keep], y)
            weights = refit.coef_[0]
        self._set_points(weights)
        self.calibration_ = fit_platt(self.points(table), y)
        return self

    def _set_points(self, weights: np.ndarray) -> None:
        columns = list(dict.fromkeys(b.column for b in self.bins_))
        low = {c: 0.0 for c in columns}
        high = {c: 0.0 for c in columns}
        for b, w in zip(self.bins_, weights, strict=True):
            low[b.column] = min(low[b.column], w)
            high[b.column] = max(high[b.column], w)
        span = sum(high[c] - low[c] for c in columns)
        factor = SCALE_MAX / span if span > 0 else 0.0
        self.columns_ = columns
        self.points_ = [
            round(factor * (w - low[b.column])) for b, w in zip(self.bins_, weights, strict=True)
        ]
        self.else_points_ = {c: round(factor * -low[c]) for c in columns}

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
        return np.clip(total, 0, SCALE_MAX)

    def predict_proba(self, table: Table) -> np.ndarray:
        a, b = self.calibration_
        p = sigmoid(a * self.points(table) + b)
        return np.column_stack([1.0 - p, p])

    @property
    def n_rules_(self) -> int:
        """Conditions that give points (cases), the measure ``max_rules`` limits."""
        return len(self.bins_)

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

"""Feature tables and their encoding into numbers.

Every estimator takes a *table*: a mapping from column name to a sequence of
raw values (text, numbers or ``None``), one entry per contact. An encoder
learns from the training table which columns are numeric and which are
categorical, and turns any later table into a float matrix:

* a value is missing when :func:`leadscore.engine.values.is_missing` says so, or
  when its text is one of ``missing_values`` (e.g. ``Select``, a form's
  unanswered drop-down);
* numeric columns keep their value; missing becomes NaN (the gradient-boosted
  model learns a branch for it);
* categorical columns become codes: each value seen at least ``min_count``
  times gets its own code (compared case-insensitively, spaces trimmed),
  missing gets its own code, and rare or unseen values share an ``(other)``
  code;
* a column absent from a later table is treated as missing throughout;
* identifier-like columns (nearly all values distinct) are left out and listed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine import values as V

Table = Mapping[str, Sequence[Any]]

#: a text column is numeric when at least this share of its present values read as numbers
NUMERIC_SHARE = 0.95
#: a column is identifier-like when its distinct values exceed this share of its present values
IDENTIFIER_SHARE = 0.5
#: ... and it has at least this many distinct values
IDENTIFIER_MIN_DISTINCT = 100
MISSING_LABEL = "(missing)"
OTHER_LABEL = "(other)"


def n_rows(table: Table) -> int:
    """Number of rows of a table (0 for a table without columns)."""
    for col in table.values():
        return len(col)
    return 0


def take(table: Table, index: Sequence[int] | np.ndarray) -> dict[str, list[Any]]:
    """The rows ``index`` of ``table``, as a new table."""
    idx = np.asarray(index, dtype=np.int64)
    out: dict[str, list[Any]] = {}
    for name, col in table.items():
        arr = col if isinstance(col, np.ndarray) else np.asarray(col, dtype=object)
        out[name] = list(arr[idx])
    return out


def category_key(value: Any) -> str:
    """How categorical values are compared: trimmed, case-insensitive text."""
    return str(V.text(value)).strip().casefold()


@dataclass
class ColumnCoding:
    """How one column is encoded."""

    name: str
    kind: str  # "numeric" or "categorical"
    categories: list[str] = field(default_factory=list)  # keys, most frequent first
    labels: list[str] = field(default_factory=list)  # a readable spelling of each key

    def code_of(self, key: str) -> int:
        return self._index.get(key, len(self.categories) + 1)

    def __post_init__(self) -> None:
        self._index = {k: i for i, k in enumerate(self.categories)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._index = {k: i for i, k in enumerate(self.categories)}

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_index"}

    @property
    def missing_code(self) -> int:
        return len(self.categories)

    @property
    def other_code(self) -> int:
        return len(self.categories) + 1

    def label(self, code: float) -> str:
        if np.isnan(code):
            return MISSING_LABEL
        code = int(code)
        if code < len(self.labels):
            return self.labels[code]
        return MISSING_LABEL if code == self.missing_code else OTHER_LABEL


class TableEncoder:
    """Learns column kinds and category codes; turns tables into float matrices."""

    def __init__(
        self,
        *,
        min_count: int = 10,
        missing_values: Sequence[str] = (),
        numeric: Sequence[str] = (),
        categorical: Sequence[str] = (),
    ) -> None:
        self.min_count = min_count
        self.missing_values = tuple(missing_values)
        self.numeric = tuple(numeric)
        self.categorical = tuple(categorical)

    def _missing(self, value: Any) -> bool:
        if V.is_missing(value):
            return True
        if self.missing_values and isinstance(value, str):
            return value.strip().casefold() in {m.casefold() for m in self.missing_values}
        return False

    def fit(self, table: Table) -> TableEncoder:
        self.columns_: list[ColumnCoding] = []
        self.dropped_: dict[str, str] = {}
        for name in list(table):
            raw = table[name]
            present = [v for v in raw if not self._missing(v)]
            if not present:
                self.dropped_[name] = "always empty"
                continue
            numbers = [V.number(v) for v in present]
            share = sum(n is not None for n in numbers) / len(present)
            if name in self.numeric or (name not in self.categorical and share >= NUMERIC_SHARE):
                distinct = len({n for n in numbers if n is not None})
                ints = all(n is not None and float(n).is_integer() for n in numbers)
                if (
                    name not in self.numeric
                    and ints
                    and distinct == len(present)
                    and distinct >= IDENTIFIER_MIN_DISTINCT
                ):
                    self.dropped_[name] = "identifier-like (every value distinct)"
                    continue
                self.columns_.append(ColumnCoding(name, "numeric"))
                continue
            counts = Counter(category_key(v) for v in present)
            if (
                name not in self.categorical
                and len(counts) >= IDENTIFIER_MIN_DISTINCT
                and len(counts) > IDENTIFIER_SHARE * len(present)
            ):
                self.dropped_[name] = f"identifier-like ({len(counts)} distinct values)"
                continue
            spelling: dict[str, Counter] = {}
            for v in present:
                spelling.setdefault(category_key(v), Counter())[str(V.text(v)).strip()] += 1
            kept = sorted(
                (k for k, n in counts.items() if n >= self.min_count), key=lambda k: (-counts[k], k)
            )
            labels = [min(spelling[k].items(), key=lambda kv: (-kv[1], kv[0]))[0] for k in kept]
            self.columns_.append(ColumnCoding(name, "categorical", kept, labels))
        self.feature_names_ = [c.name for c in self.columns_]
        return self

    def transform(self, table: Table) -> np.ndarray:
        n = n_rows(table)
        out = np.full((n, len(self.columns_)), np.nan, dtype=np.float64)
        for j, col in enumerate(self.columns_):
            raw = table.get(col.name)
            if col.kind == "numeric":
                if raw is None:
                    continue
                if isinstance(raw, np.ndarray) and raw.dtype.kind in "fiu":
                    out[:, j] = raw.astype(np.float64)
                    continue
                out[:, j] = [
                    np.nan if self._missing(v) or (x := V.number(v)) is None else x for v in raw
                ]
            else:
                if raw is None:
                    out[:, j] = col.missing_code
                    continue
                out[:, j] = [
                    col.missing_code if self._missing(v) else col.code_of(category_key(v))
                    for v in raw
                ]
        return out

    def categorical_indices(self) -> list[int]:
        return [j for j, c in enumerate(self.columns_) if c.kind == "categorical"]

    def describe(self, j: int, code: float) -> str:
        """Readable value of encoded feature ``j``: a category label or a number."""
        col = self.columns_[j]
        if col.kind == "categorical":
            return col.label(code)
        if np.isnan(code):
            return MISSING_LABEL
        return f"{code:g}"

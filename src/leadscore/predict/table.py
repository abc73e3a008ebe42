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
import pyarrow as pa
import pyarrow.compute as pc

from ..engine import values as V

Table = Mapping[str, Sequence[Any]]

#: a text column is numeric when at least this share of its present values read as numbers
NUMERIC_SHARE = 0.95
#: a column is identifier-like when its distinct values exceed this share of its present values
IDENTIFIER_SHARE = 0.5
#: ... and it has at least this many distinct values
IDENTIFIER_MIN_DISTINCT = 100
#: distinct values looked at to tell a numeric column from a categorical one
KIND_SAMPLE = 2000
MISSING_LABEL = "(missing)"
OTHER_LABEL = "(other)"


def n_rows(table: Table) -> int:
    """Number of rows of a table (0 for a table without columns)."""
    for col in table.values():
        return len(col)
    return 0


def take(table: Table, index: Sequence[int] | np.ndarray) -> dict[str, np.ndarray]:
    """The rows ``index`` of ``table``, as a new table of arrays."""
    idx = np.asarray(index, dtype=np.int64)
    out: dict[str, np.ndarray] = {}
    for name, col in table.items():
        if isinstance(col, np.ndarray):
            out[name] = col[idx]
        else:
            arr = np.empty(len(col), dtype=object)
            arr[:] = list(col)
            out[name] = arr[idx]
    return out


def _is_numbers(col: Any) -> bool:
    return isinstance(col, np.ndarray) and col.dtype.kind in "fiu"


def _mapped(raw: Sequence[Any], fn: Any) -> list[float] | np.ndarray:
    """``fn`` of each value, computed once per distinct value.

    A column of text (and empty values) is told into distinct values by Arrow's
    dictionary encoding, in C, rather than a Python lookup per row; any other
    column by a Python dictionary (the same distinct values: text round-trips
    through Arrow unchanged)."""
    if isinstance(raw, list | np.ndarray) and len(raw):
        try:
            arr = pa.array(raw, from_pandas=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
            arr = None
        if arr is not None and (pa.types.is_string(arr.type) or pa.types.is_null(arr.type)):
            encoded = pc.dictionary_encode(arr)
            distinct = encoded.dictionary.to_pylist()
            values = np.array([fn(v) for v in distinct] + [fn(None)], dtype=np.float64)
            index = encoded.indices.fill_null(len(distinct)).to_numpy(zero_copy_only=False)
            return values[index]
    return _mapped_rows(raw, fn)


def _mapped_rows(raw: Sequence[Any], fn: Any) -> list[float]:
    """``fn`` of each value, computed once per distinct value (a Python dictionary)."""
    cache: dict[Any, float] = {}
    out = []
    for v in raw:
        try:
            got = cache[v]
        except KeyError:
            got = cache[v] = fn(v)
        except TypeError:  # unhashable
            got = fn(v)
        out.append(got)
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
            if _is_numbers(raw) and name not in self.categorical:
                self._fit_numbers(name, np.asarray(raw, dtype=np.float64))
            else:
                self._fit_values(name, raw)
        self.feature_names_ = [c.name for c in self.columns_]
        return self

    def _numeric(self, name: str, values: np.ndarray, n_present: int) -> None:
        """Keep a numeric column unless it is empty or identifier-like."""
        if n_present == 0:
            self.dropped_[name] = "always empty"
            return
        distinct = np.unique(values)
        if (
            name not in self.numeric
            and len(distinct) == n_present
            and n_present >= IDENTIFIER_MIN_DISTINCT
            and np.all(np.mod(distinct, 1) == 0)
        ):
            self.dropped_[name] = "identifier-like (every value distinct)"
            return
        self.columns_.append(ColumnCoding(name, "numeric"))

    def _fit_numbers(self, name: str, raw: np.ndarray) -> None:
        present = raw[~np.isnan(raw)]
        self._numeric(name, present, len(present))

    def _fit_values(self, name: str, raw: Sequence[Any]) -> None:
        counts = Counter(raw)  # distinct raw values: each is classified once
        distinct = [(v, c) for v, c in counts.items() if not self._missing(v)]
        n_present = sum(c for _, c in distinct)
        if n_present == 0:
            self.dropped_[name] = "always empty"
            return
        if (
            name not in self.numeric
            and len(distinct) == n_present
            and n_present >= IDENTIFIER_MIN_DISTINCT
        ):
            # every value distinct: an id, e-mail, phone or timestamp, numeric or not
            self.dropped_[name] = f"identifier-like ({n_present} distinct values)"
            return
        sample = distinct[:KIND_SAMPLE]  # the kind is told from the first distinct values
        share = sum(c for v, c in sample if V.number(v) is not None) / sum(c for _, c in sample)
        if name in self.numeric or (name not in self.categorical and share >= NUMERIC_SHARE):
            numbers = [(V.number(v), c) for v, c in distinct]
            values = np.repeat(
                [x for x, _ in numbers if x is not None], [c for x, c in numbers if x is not None]
            )
            self._numeric(name, values, n_present)
            return
        keys: Counter = Counter()
        spelling: dict[str, Counter] = {}
        for v, c in distinct:
            key = category_key(v)
            keys[key] += c
            spelling.setdefault(key, Counter())[str(V.text(v)).strip()] += c
        if (
            name not in self.categorical
            and len(keys) >= IDENTIFIER_MIN_DISTINCT
            and len(keys) > IDENTIFIER_SHARE * n_present
        ):
            self.dropped_[name] = f"identifier-like ({len(keys)} distinct values)"
            return
        kept = sorted(
            (k for k, n in keys.items() if n >= self.min_count), key=lambda k: (-keys[k], k)
        )
        labels = [min(spelling[k].items(), key=lambda kv: (-kv[1], kv[0]))[0] for k in kept]
        self.columns_.append(ColumnCoding(name, "categorical", kept, labels))

    def _number(self, value: Any) -> float:
        if self._missing(value):
            return np.nan
        x = V.number(value)
        return np.nan if x is None else x

    def transform(self, table: Table) -> np.ndarray:
        n = n_rows(table)
        out = np.full((n, len(self.columns_)), np.nan, dtype=np.float64)
        for j, col in enumerate(self.columns_):
            raw = table.get(col.name)
            if col.kind == "numeric":
                if raw is None:
                    continue
                if _is_numbers(raw):
                    out[:, j] = np.asarray(raw, dtype=np.float64)
                    continue
                out[:, j] = _mapped(raw, self._number)
            else:
                if raw is None:
                    out[:, j] = col.missing_code
                    continue
                out[:, j] = _mapped(
                    raw,
                    lambda v, col=col: (
                        col.missing_code if self._missing(v) else col.code_of(category_key(v))
                    ),
                )
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

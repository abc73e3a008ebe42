"""The fit × engagement matrix a model may declare (``matrix:``).

A contact's **cell** joins a letter graded from one group (fit: ``A`` … ``D``) and the
number of the band another group's score falls in (engagement: ``1`` the hottest), as
``A1``; its **quadrant** says whether the letter counts as fitting and the band as hot:
"Hot & fitting", "Fitting but cold", "Hot but poor fit", "Cold & poor fit" unless the
model names them.

.. code-block:: yaml

    grades: {fit: {A: 45, B: 30, C: 15}}     # the matrix's letters, unless it gives its own
    matrix:
      fit: fit                 # default: the group the grades read
      engagement: engagement
      bands: [30, 15, 5]       # band 1 from 30, band 2 from 15, band 3 from 5, band 4 below
      fitting: [A, B]          # default: the better half of the letters
      hot: [1, 2]              # default: the hotter half of the bands
      quadrants: {fit_hot: Call now}

What this means, evaluated, is :func:`leadscore.engine.spine.matrix_of`; the SQL
compiler gives the same cells (``matrix`` and ``quadrant`` columns).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from .conditions import AllOf, AnyOf, Condition, Not, Predicate
from .rules import Frozen, Location, Problems, suggest
from .spine import Grades, Threshold

QUADRANT_KEYS = ("fit_hot", "fit_cold", "unfit_hot", "unfit_cold")
"""The four quadrants: fitting or not, hot or cold."""


class Quadrants(Frozen):
    """The names the four quadrants are shown and filtered by."""

    fit_hot: str = Field(default="Hot & fitting", min_length=1, max_length=100)
    fit_cold: str = Field(default="Fitting but cold", min_length=1, max_length=100)
    unfit_hot: str = Field(default="Hot but poor fit", min_length=1, max_length=100)
    unfit_cold: str = Field(default="Cold & poor fit", min_length=1, max_length=100)

    def name(self, fitting: bool, hot: bool) -> str:
        key = f"{'fit' if fitting else 'unfit'}_{'hot' if hot else 'cold'}"
        return str(getattr(self, key))


class Matrix(Frozen):
    """A letter from one group and a band number from another: the contact's cell."""

    fit: str | None = Field(
        default=None, description="the group graded in letters (default: the grades' group)"
    )
    letters: tuple[tuple[str, float], ...] | None = Field(
        default=None, description="letter minimums, e.g. {A: 45, B: 30, C: 15, else: D}"
    )
    otherwise: str | None = None
    engagement: str = Field(description="the group cut into bands")
    bands: tuple[float, ...] = Field(
        min_length=1, description="each band's minimum, band 1 (the hottest) first"
    )
    fitting: tuple[str, ...] | None = None
    hot: tuple[int, ...] | None = None
    quadrants: Quadrants = Quadrants()

    @model_validator(mode="before")
    @classmethod
    def _letters(cls, value: Any) -> Any:
        if not isinstance(value, Mapping) or "letters" not in value:
            return value
        letters = value["letters"]
        if not isinstance(letters, Mapping) or not letters:
            raise PydanticCustomError(
                "hinted",
                "{message}",
                {
                    "message": "matrix letters map each letter to its minimum fit score",
                    "hint": "e.g. letters: {A: 45, B: 30, C: 15, else: D}",
                },
            )
        out = dict(value)
        rest = dict(letters)
        out["otherwise"] = str(rest.pop("else", "D"))
        if not rest:
            raise PydanticCustomError(
                "hinted",
                "{message}",
                {
                    "message": "matrix letters name no letter with a minimum, only 'else'",
                    "hint": "e.g. letters: {A: 45, B: 30, C: 15, else: D}",
                },
            )
        pairs = []
        for letter, minimum in rest.items():
            if isinstance(minimum, bool) or not isinstance(minimum, int | float):
                raise PydanticCustomError(
                    "hinted",
                    "{message}",
                    {
                        "message": f"matrix letter {letter!r} needs a number (the minimum "
                        f"fit score), got {minimum!r}",
                        "hint": "e.g. letters: {A: 45, B: 30, C: 15, else: D}",
                    },
                )
            pairs.append((str(letter), float(minimum)))
        out["letters"] = sorted(pairs, key=lambda p: -p[1])
        return out


@dataclass(frozen=True)
class Axes:
    """A validated matrix with its letters resolved: what the evaluators read."""

    fit: str
    letters: tuple[tuple[str, float], ...]  # highest minimum first
    otherwise: str
    engagement: str
    bands: tuple[float, ...]  # band 1's minimum first, decreasing
    fitting: frozenset[str]
    hot: frozenset[int]
    quadrants: Quadrants

    @property
    def letter_names(self) -> list[str]:
        """Every letter, the best first, the ``else`` letter last."""
        return [letter for letter, _ in self.letters] + [self.otherwise]

    @property
    def band_numbers(self) -> list[int]:
        """Every band number, the hottest (1) first; the last holds scores below every minimum."""
        return list(range(1, len(self.bands) + 2))

    def letter(self, value: float) -> str:
        return next((lt for lt, m in self.letters if value >= m), self.otherwise)

    def band(self, value: float) -> int:
        return next(
            (i for i, m in enumerate(self.bands, start=1) if value >= m), len(self.bands) + 1
        )

    def quadrant(self, letter: str, band: int) -> str:
        return self.quadrants.name(letter in self.fitting, band in self.hot)

    def cells(self) -> list[tuple[str, str, int, str]]:
        """Every cell as (cell, letter, band, quadrant), row by row, the best first."""
        return [
            (f"{lt}{b}", lt, b, self.quadrant(lt, b))
            for lt in self.letter_names
            for b in self.band_numbers
        ]

    def quadrant_names(self) -> list[str]:
        q = self.quadrants
        return [q.fit_hot, q.fit_cold, q.unfit_hot, q.unfit_cold]


def axes_of(matrix: Matrix, grades: Grades | None) -> Axes | None:
    """The matrix with its letters resolved (its own, else the grades'), or None when the
    model's grades cannot give them (a validation problem, see :func:`check_matrix`)."""
    fit = matrix.fit if matrix.fit is not None else (grades.group if grades else None)
    if fit is None:
        return None
    if matrix.letters is not None:
        letters, otherwise = matrix.letters, matrix.otherwise or "D"
    elif grades is not None and grades.group == fit:
        letters, otherwise = grades.letters, grades.otherwise
    else:
        return None
    names = [lt for lt, _ in letters] + [otherwise]
    bands = len(matrix.bands) + 1
    fitting = matrix.fitting if matrix.fitting is not None else names[: max(1, len(names) // 2)]
    hot = matrix.hot if matrix.hot is not None else range(1, max(1, bands // 2) + 1)
    return Axes(
        fit=fit,
        letters=letters,
        otherwise=otherwise,
        engagement=matrix.engagement,
        bands=matrix.bands,
        fitting=frozenset(fitting),
        hot=frozenset(hot),
        quadrants=matrix.quadrants,
    )


def check_matrix(
    problems: Problems,
    matrix: Matrix,
    grades: Grades | None,
    ranges: Mapping[str, tuple[float, float]],
    at: Location = ("matrix",),
) -> None:
    """Refuse a matrix that cannot be evaluated as written: unknown groups, letters
    or bands out of order or repeated, unreachable minimums, unknown fitting letters or
    hot bands, two quadrants with one name. ``ranges`` holds each rule group's range."""
    fit = matrix.fit if matrix.fit is not None else (grades.group if grades else None)
    if fit is None:
        problems.append(
            (
                at,
                "the matrix has no fit group: it names none and the model has no grades",
                "add fit: <group> and letters: {A: 45, B: 30, C: 15}, or give the model "
                "grades (grades: {fit: {A: 45, B: 30, C: 15}})",
            )
        )
    for key, group in (("fit", fit), ("engagement", matrix.engagement)):
        if group is not None and group not in ranges:
            problems.append(
                (
                    (*at, key),
                    f"the matrix's {key} reads unknown group {group!r} (the matrix reads "
                    "the model's rule groups)",
                    suggest(group, ranges) or f"use one of {', '.join(sorted(ranges))}",
                )
            )
    if fit is not None and matrix.letters is None and (grades is None or grades.group != fit):
        problems.append(
            (
                (*at, "fit"),
                f"the matrix grades {fit!r} but has no letters, and the model's grades "
                + ("are missing" if grades is None else f"read {grades.group!r}"),
                "give the matrix its own letters, e.g. letters: {A: 45, B: 30, C: 15, else: D}",
            )
        )
    if matrix.letters is not None:
        _check_letters(problems, matrix, (*at, "letters"), ranges.get(fit or ""))
    _check_bands(problems, matrix.bands, (*at, "bands"), ranges.get(matrix.engagement))
    axes = axes_of(matrix, grades)
    if axes is None:
        return
    if matrix.fitting is not None:
        if not matrix.fitting:
            problems.append(((*at, "fitting"), "fitting lists no letter", "e.g. fitting: [A, B]"))
        for i, letter in enumerate(matrix.fitting):
            if letter not in axes.letter_names:
                problems.append(
                    (
                        (*at, "fitting", i),
                        f"fitting names unknown letter {letter!r}",
                        suggest(letter, axes.letter_names)
                        or f"use letters of the matrix: {', '.join(axes.letter_names)}",
                    )
                )
    if matrix.hot is not None:
        if not matrix.hot:
            problems.append(((*at, "hot"), "hot lists no band", "e.g. hot: [1, 2]"))
        for i, band in enumerate(matrix.hot):
            if band not in axes.band_numbers:
                problems.append(
                    (
                        (*at, "hot", i),
                        f"hot names band {band}, but the bands are "
                        f"{axes.band_numbers[0]} to {axes.band_numbers[-1]}",
                        f"use band numbers from 1 to {axes.band_numbers[-1]} (one more than "
                        "the minimums listed in bands)",
                    )
                )
    names = axes.quadrant_names()
    for key, name in zip(QUADRANT_KEYS, names, strict=True):
        if names.count(name) > 1 and names.index(name) != QUADRANT_KEYS.index(key):
            problems.append(
                (
                    (*at, "quadrants", key),
                    f"quadrant name {name!r} is given twice",
                    "give each quadrant its own name (filters and the dashboard tell them "
                    "apart by it)",
                )
            )


def _check_letters(
    problems: Problems, matrix: Matrix, at: Location, span: tuple[float, float] | None
) -> None:
    assert matrix.letters is not None
    seen: dict[float, str] = {}
    names = [lt for lt, _ in matrix.letters]
    if matrix.otherwise in names or len(set(names)) != len(names):
        problems.append((at, "a matrix letter is given twice", "give each letter once"))
    for letter, minimum in matrix.letters:
        if minimum in seen:
            problems.append(
                (
                    (*at, letter),
                    f"letters {seen[minimum]} and {letter} both start at {minimum:g}: "
                    f"no contact could get {letter}",
                    "give each letter its own minimum",
                )
            )
        seen[minimum] = letter
        if span is not None and minimum > span[1]:
            problems.append(
                (
                    (*at, letter),
                    f"letter {letter} needs {minimum:g}, but the fit group is held at most "
                    f"{span[1]:g}: no contact can get {letter}",
                    f"lower {letter}'s minimum to {span[1]:g} or less",
                )
            )


def _check_bands(
    problems: Problems, bands: tuple[float, ...], at: Location, span: tuple[float, float] | None
) -> None:
    for i in range(1, len(bands)):
        if bands[i] == bands[i - 1]:
            problems.append(
                (
                    (*at, i),
                    f"bands {i} and {i + 1} both start at {bands[i]:g}: band {i + 1} "
                    "would hold no contact",
                    "give each band its own minimum, decreasing: band 1 the hottest",
                )
            )
        elif bands[i] > bands[i - 1]:
            problems.append(
                (
                    (*at, i),
                    f"band {i + 1} starts at {bands[i]:g}, above band {i}'s {bands[i - 1]:g}: "
                    "band minimums go from the hottest (band 1) down",
                    "list the minimums in decreasing order, e.g. bands: "
                    f"[{', '.join(f'{b:g}' for b in sorted(set(bands), reverse=True))}]",
                )
            )
    if span is not None:
        for i, minimum in enumerate(bands):
            if minimum > span[1]:
                problems.append(
                    (
                        (*at, i),
                        f"band {i + 1} needs {minimum:g}, but the engagement group is held "
                        f"at most {span[1]:g}: no contact can be in band {i + 1}",
                        f"use minimums of {span[1]:g} or less, or raise the group's max",
                    )
                )


def _predicates(cond: Condition) -> list[Predicate]:
    if isinstance(cond, Predicate):
        return [cond]
    if isinstance(cond, Not):
        return _predicates(cond.item)
    assert isinstance(cond, AllOf | AnyOf)
    return [p for item in cond.items for p in _predicates(item)]


def check_cell_reads(
    problems: Problems, axes: Axes, thresholds: tuple[Threshold, ...], at: Location = ()
) -> None:
    """Thresholds comparing ``matrix`` or ``quadrant`` with a cell or a name the matrix
    does not have (a typo that would make the stage unreachable)."""
    known = {
        "matrix": [cell for cell, _, _, _ in axes.cells()],
        "quadrant": axes.quadrant_names(),
    }
    for i, th in enumerate(thresholds):
        for pred in _predicates(th.when):
            names = known.get(pred.field)
            if names is None or pred.op not in ("eq", "ne", "in", "not_in"):
                continue
            values = pred.value if isinstance(pred.value, tuple) else (pred.value,)
            for value in values:
                # text compares without case, as conditions do
                if isinstance(value, str) and value.lower() not in {n.lower() for n in names}:
                    problems.append(
                        (
                            (*at, "thresholds", i, "when", pred.field),
                            f"stage {th.stage!r} compares {pred.field} with {value!r}, "
                            f"which the matrix does not have",
                            suggest(value, names) or f"use one of {', '.join(names)}",
                        )
                    )

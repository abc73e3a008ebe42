"""Score a whole population with several models, each contact as of its own time.

:func:`score_selection` is the one place that chooses an evaluator:

* ``sql`` (default): the batch SQL evaluator on DuckDB. Each model is scored as
  its *decomposition*, the same rules with one group per rule (see
  :func:`decompose`), so one query gives every rule's points per contact; the
  groups, total, grade and stage are then put together here exactly as the
  evaluator does (:func:`finish`). Rule diagnostics thus cost no extra query.
* ``inprocess``: the reference evaluator, contact by contact.

:func:`without_rule` builds the typed model with one rule removed, and
:func:`recombine` computes that model's totals from the per-rule points already
scored (a rule's points never depend on the other rules, so this equals a full
rescoring; a test holds the two together, and the two engines together).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from ..data.io import Inputs
from ..engine import spine
from ..engine.conditions import predicate
from ..engine.inprocess import score_contact, to_event
from ..errors import UsageError
from ..model.conditions import AllOf, Not, Predicate
from ..model.schema import Axes, Group, Scale, ScoringModel, Total

ENGINES = ("sql", "inprocess")
AS_OF_COLUMN = "__leadscore_as_of"
SELECTED = "__leadscore_backtest_contacts"
SELECTED_EVENTS = "__leadscore_backtest_events"
WIDE = 1e300  # scale of a decomposition: never clamps


@dataclass
class Selection:
    """The contacts taking part, in id order, with their outcome and as-of time."""

    ids: list[str]
    y: np.ndarray
    as_of: list[datetime]


@dataclass
class Scored:
    """One model's scores over the population, in contact order."""

    model: ScoringModel
    total: np.ndarray  # float per contact
    grade: list[str | None]
    stage: list[str | None]
    excluded: np.ndarray  # bool per contact
    rules: list[tuple[str, str]]  # (group, rule name), model order
    points: np.ndarray  # contacts × rules: points each rule added


@dataclass
class Population:
    """Contact ids, outcomes and as-of times, plus each model's scores."""

    ids: list[str]
    y: np.ndarray
    as_of: list[datetime]
    scored: dict[str, Scored]


def score_selection(
    models: list[ScoringModel],
    inputs: Inputs,
    selection: Selection,
    *,
    engine: str = "sql",
    progress: Callable[[int], None] | None = None,
) -> Population:
    """Score the selected contacts with every model, each as of its own time."""
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}")
    if engine == "sql":
        points, excluded = _points_sql(models, inputs, selection)
    else:
        points, excluded = _points_inprocess(models, inputs, selection, progress)
    scored = {
        m.name: finish(m, points[m.name], excluded[m.name], _phases(m, inputs, selection))
        for m in models
    }
    return Population(ids=selection.ids, y=selection.y, as_of=selection.as_of, scored=scored)


def _phases(model: ScoringModel, inputs: Inputs, selection: Selection) -> list[str | None] | None:
    """Each selected contact's phase (its current stage, :meth:`ScoringModel.phase_of`),
    when the model's stages read it; None otherwise."""
    prop = model.lifecycle.stage_property
    if not model.reads_phase():
        return None
    if prop not in inputs.properties:
        return [None] * len(selection.ids)
    quoted = '"' + prop.replace('"', '""') + '"'
    rows = inputs.con.execute(f"SELECT CAST(id AS VARCHAR), {quoted} FROM contacts").fetchall()
    found = {cid: value for cid, value in rows}
    return [model.phase_of(found.get(cid)) for cid in selection.ids]


def _points_inprocess(models, inputs, selection, progress):
    n = len(selection.ids)
    index = {cid: i for i, cid in enumerate(selection.ids)}
    points = {m.name: np.zeros((n, sum(1 for _ in m.rules()))) for m in models}
    excluded = {m.name: np.zeros(n, dtype=bool) for m in models}
    for contact, raw_events in inputs.contact_rows():
        if progress is not None:
            progress(1)
        i = index.get(str(contact["id"]))
        if i is None:
            continue
        events = [to_event(e) for e in raw_events]
        for model in models:
            res = score_contact(model, contact, events, as_of=selection.as_of[i])
            points[model.name][i] = [hit.points for hit in res.breakdown]
            excluded[model.name][i] = res.excluded
    return points, excluded


def rule_group(j: int) -> str:
    return f"rule_{j}"


def decompose(model: ScoringModel) -> ScoringModel:
    """The model with each rule alone in a group of its own (keeping its group's decay
    and stage reset), no caps, no scale limits, no grades, matrix or stages: its group scores
    are the rules' points. Exclusions are kept."""
    groups = {}
    for j, (gname, rule) in enumerate(model.rules()):
        source = model.groups[gname]
        groups[rule_group(j)] = Group(
            decay=source.decay, reset_on_stage=source.reset_on_stage, rules=(rule,)
        )
    return model.model_copy(
        update={
            "groups": groups,
            "scale": Scale(min=-WIDE, max=WIDE),
            "total": Total(),
            "grades": None,
            "matrix": None,
            "thresholds": (),
            "default_stage": None,
            "triggers": (),
        }
    )


def _points_sql(models, inputs, selection):
    """Every rule's points per contact, from one query per kind of as-of time: the plain
    batch query for the contacts scored as of the cut-off (usually most of them), the
    engine's per-contact query only for those with a time of their own."""
    import pyarrow as pa

    parts = [decompose(m).model_copy(update={"name": f"m{k}"}) for k, m in enumerate(models)]
    cutoff = max(selection.as_of) if selection.as_of else datetime.now(UTC)
    at_cutoff = [i for i, t in enumerate(selection.as_of) if t == cutoff]
    own_time = [i for i, t in enumerate(selection.as_of) if t != cutoff]
    tables = []
    for rows, per_contact in ((at_cutoff, False), (own_time, True)):
        if rows:
            tables.append(_query(parts, inputs.con, selection, rows, cutoff, per_contact))
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    ids = np.array(selection.ids, dtype=object)
    points, excluded = {}, {}
    for k, model in enumerate(models):
        mine = table.filter(_array(table, "model") == f"m{k}")
        got = np.array(mine.column("contact_id").to_pylist(), dtype=object)
        if len(got) != len(ids) or not (got == ids).all():
            order = {cid: i for i, cid in enumerate(got)}
            mine = mine.take(np.array([order[c] for c in ids], dtype=int))
        n_rules = sum(1 for _ in model.rules())
        matrix = np.zeros((len(ids), n_rules))
        for j in range(n_rules):
            matrix[:, j] = _array(mine, rule_group(j))
        points[model.name] = matrix
        excluded[model.name] = _array(mine, "excluded").astype(bool)
    return points, excluded


def _query(parts, con, selection: Selection, rows: list[int], cutoff, per_contact: bool):
    import pyarrow as pa

    from ..engine.sql.duckdb import score_relation

    columns = {"id": pa.array([selection.ids[i] for i in rows], pa.string())}
    if per_contact:
        stamps = [selection.as_of[i].strftime("%Y-%m-%dT%H:%M:%S.%fZ") for i in rows]
        columns[AS_OF_COLUMN] = pa.array(stamps, pa.string())
    con.register("__leadscore_selection", pa.table(columns))
    try:
        extra = f', s."{AS_OF_COLUMN}"' if per_contact else ""
        con.execute(
            f'CREATE OR REPLACE TEMP TABLE "{SELECTED}" AS SELECT c.*{extra} '
            "FROM contacts c JOIN __leadscore_selection s ON c.id = s.id ORDER BY c.id"
        )
    finally:
        con.unregister("__leadscore_selection")
    own, names = None, {"contacts": SELECTED}
    if per_contact:
        # Usually a few contacts: give the per-contact query only their events.
        con.execute(
            f'CREATE OR REPLACE TEMP TABLE "{SELECTED_EVENTS}" AS SELECT * FROM events e '
            f'WHERE e.contact_id IN (SELECT id FROM "{SELECTED}")'
        )
        own, names["events"] = AS_OF_COLUMN, SELECTED_EVENTS
    rel = score_relation(parts, con, as_of=cutoff, as_of_column=own, **names)
    table = rel.arrow()
    return table.read_all() if hasattr(table, "read_all") else table


def _array(table, name: str) -> np.ndarray:
    return np.asarray(table.column(name).to_numpy(zero_copy_only=False))


def _group_values(model: ScoringModel, points: np.ndarray, column: dict[str, int]):
    n = points.shape[0]
    groups: dict[str, np.ndarray] = {}
    for gname, group in model.groups.items():
        cols = [(column[r.name], r.weight) for r in group.rules]
        value = np.zeros(n)
        if group.combine == "weighted_mean" and cols:
            for j, w in cols:
                value = value + points[:, j] * w
            weight = 0
            for _, w in cols:
                weight = weight + w
            value = value / weight
        else:
            for j, _ in cols:
                value = value + points[:, j]
        if group.max is not None:
            value = np.minimum(value, group.max)
        if group.min is not None:
            value = np.maximum(value, group.min)
        groups[gname] = value
    total = np.zeros(n)
    if model.total.weights is not None:
        for g, w in model.total.weights.items():
            total = total + groups[g] * w
    else:
        for value in groups.values():
            total = total + value
    return groups, np.clip(total, model.scale.min, model.scale.max)


def _mask(cond, columns: dict[str, list]) -> np.ndarray:
    """Where ``cond`` holds, with the reference predicate applied once per distinct value."""
    if isinstance(cond, Predicate):
        values = columns.get(cond.field)
        n = len(next(iter(columns.values())))
        if values is None:
            return np.full(n, predicate(cond, None))
        if isinstance(values, np.ndarray) and cond.op in NUMERIC_OPS:
            return _numeric_mask(cond, values)
        seen: dict = {}
        codes = np.fromiter((seen.setdefault(v, len(seen)) for v in values), int, len(values))
        truth = np.array([predicate(cond, v) for v in seen], dtype=bool)
        return truth[codes]
    if isinstance(cond, Not):
        return ~_mask(cond.item, columns)
    masks = [_mask(c, columns) for c in cond.items]
    if isinstance(cond, AllOf):
        return np.logical_and.reduce(masks)
    return np.logical_or.reduce(masks)


NUMERIC_OPS = {"gt": np.greater, "gte": np.greater_equal, "lt": np.less, "lte": np.less_equal}


def _numeric_mask(cond: Predicate, values: np.ndarray) -> np.ndarray:
    """A comparison on a score column: every value is a finite number, so the reference
    predicate reduces to the plain comparison."""
    literal = cond.value
    if isinstance(literal, bool) or not isinstance(literal, int | float):
        return np.array([predicate(cond, v) for v in values.tolist()], dtype=bool)
    return NUMERIC_OPS[cond.op](values, literal)


def matrix_columns(axes: Axes, groups: dict[str, np.ndarray]) -> tuple[list[str], list[str]]:
    """Each row's matrix cell and quadrant, from its fit and engagement scores."""
    letters = np.select(
        [groups[axes.fit] >= m for _, m in axes.letters],
        [lt for lt, _ in axes.letters],
        default=axes.otherwise,
    ).tolist()
    bands = np.select(
        [groups[axes.engagement] >= m for m in axes.bands],
        list(range(1, len(axes.bands) + 1)),
        default=len(axes.bands) + 1,
    ).tolist()
    cells = [f"{lt}{b}" for lt, b in zip(letters, bands, strict=True)]
    names = {(lt, b): axes.quadrant(lt, b) for lt in axes.letter_names for b in axes.band_numbers}
    return cells, [names[(lt, int(b))] for lt, b in zip(letters, bands, strict=True)]


def finish(
    model: ScoringModel,
    points: np.ndarray,
    excluded: np.ndarray,
    phases: list[str | None] | None = None,
) -> Scored:
    """Groups, total, grade and stage from each rule's points: the score spine
    (:mod:`leadscore.engine.spine`) over whole columns, held to it by
    ``tests/engine/test_spine.py``. ``phases``: each contact's current stage, for a
    model whose stages read it (then the stage is the spine's, contact by contact)."""
    rules = [(g, r.name) for g, r in model.rules()]
    column = {name: j for j, (_, name) in enumerate(rules)}
    groups, total = _group_values(model, points, column)
    excluded = np.asarray(excluded, dtype=bool)
    total = np.where(excluded, model.scale.min, total)
    n = len(total)
    grade: list[str | None] = [None] * n
    if model.grades is not None:
        values = groups[model.grades.group]
        letters = model.grades.letters
        grade = (
            np.select(
                [values >= minimum for _, minimum in letters],
                [letter for letter, _ in letters],
                default=model.grades.otherwise,
            ).tolist()
            if letters
            else [model.grades.otherwise] * n
        )
    stage_arr = np.full(n, None, dtype=object)
    if model.reads_phase():
        at = phases if phases is not None else [None] * n
        for i in range(n):
            scores = {g: float(v[i]) for g, v in groups.items()}
            stage_arr[i] = spine.stage(
                model, scores, float(total[i]), grade[i], bool(excluded[i]), at[i]
            )
    elif model.thresholds:
        columns: dict = dict(groups)
        columns["total"] = total
        columns["grade"] = grade
        axes = model.matrix_axes
        if axes is not None:
            cells, quadrants = matrix_columns(axes, groups)
            columns["matrix"], columns["quadrant"] = cells, quadrants
        open_ = ~excluded
        for th in model.thresholds:
            hit = open_ & _mask(th.when, columns)
            stage_arr[hit] = th.stage
            open_ &= ~hit
        stage_arr[open_] = model.default_stage
    else:
        stage_arr[~excluded] = model.default_stage
    return Scored(
        model=model,
        total=total,
        grade=grade,
        stage=stage_arr.tolist(),
        excluded=excluded,
        rules=rules,
        points=points,
    )


def without_rule(model: ScoringModel, rule: str) -> ScoringModel:
    """The same model with the named rule taken out of its group."""
    groups = {}
    found = False
    for gname, group in model.groups.items():
        kept = tuple(r for r in group.rules if r.name != rule)
        found = found or len(kept) != len(group.rules)
        groups[gname] = group.model_copy(update={"rules": kept})
    if not found:
        raise KeyError(rule)
    return model.model_copy(update={"groups": groups})


def recombine(model: ScoringModel, scored: Scored) -> np.ndarray:
    """Totals of ``model`` (whose rules are a subset of ``scored``'s) from the
    per-rule points already computed, with the evaluator's arithmetic order."""
    column = {name: j for j, (_, name) in enumerate(scored.rules)}
    _, total = _group_values(model, scored.points, column)
    return np.where(scored.excluded, model.scale.min, total)

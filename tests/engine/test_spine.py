"""The score spine (groups → total → clamp → grade → stage) has one meaning,
``leadscore.engine.spine``; its vectorised forms are held to it here.

* the backtest's numpy path (``evaluate.scoring.finish``): random models and rule
  points give the same totals, grades and stages;
* the SQL compiler on DuckDB: random rule points, written as property rules that always
  fire, give the same groups, total, grade and stage. (That every rule's points agree
  between the SQL engines and the in-process evaluator, itself built on the spine, is
  the differential test's job: ``tests/engine_sql/test_differential.py``.)
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadscore.engine import spine
from leadscore.engine.sql import score_sql
from leadscore.evaluate.scoring import finish
from leadscore.model import load_model

from ..engine_sql.strategies import AS_OF, models
from ..engine_sql.support import duck

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])

# the models' group bounds, grade minimums and threshold values, and values near them
EDGES = [-10, -7.5, -5, -3, 0, 0.5, 3, 5, 9.75, 10, 10.5, 15, 20, 25, 100]
rule_points = st.one_of(
    st.sampled_from(EDGES), st.floats(-60, 60, allow_nan=False, allow_infinity=False)
)


def _groups(model, points_row) -> dict[str, float]:
    """Group scores through the spine, from one contact's points (model rule order)."""
    out, k = {}, 0
    for gname, group in model.groups.items():
        n = len(group.rules)
        out[gname] = spine.group_score(group, list(points_row[k : k + n]))
        k += n
    return out


# --------------------------------------------------------------------- worked by hand


MODEL = load_model(
    {
        "name": "spine",
        "scale": {"min": 0, "max": 50},
        "groups": {
            "fit": {
                "max": 30,
                "rules": [
                    {"name": "A", "when": {"x": 1}, "points": 1},
                    {"name": "B", "when": {"x": 1}, "points": 1},
                ],
            },
            "eng": {
                "combine": "weighted_mean",
                "rules": [
                    {"name": "C", "when": {"x": 1}, "points": 1, "weight": 3},
                    {"name": "D", "when": {"x": 1}, "points": 1, "weight": 1},
                ],
            },
        },
        "total": {"weights": {"fit": 1, "eng": 2}},
        "grades": {"fit": {"A": 25, "B": 10, "else": "C"}},
        "thresholds": [
            {"stage": "SQL", "when": {"grade": "A", "total": {"gte": 40}}},
            {"stage": "MQL", "when": {"total": {"gte": 20}}},
        ],
        "default_stage": "lead",
    }
)


def test_group_scores_sum_or_weighted_mean_within_bounds():
    fit, eng = MODEL.groups["fit"], MODEL.groups["eng"]
    assert spine.group_score(fit, [12, 8]) == 20.0
    assert spine.group_score(fit, [25, 8]) == 30.0  # held at max 30
    assert spine.group_score(eng, [4, 8]) == 5.0  # (4·3 + 8·1) / 4
    assert spine.group_score(eng, []) == 0.0


def test_total_is_weighted_and_clamped_grade_and_stage_follow():
    # total 20 + 2·5 = 30 → MQL; grade on fit 20: B
    assert spine.outcome(MODEL, {"fit": 20, "eng": 5}, excluded=False) == spine.Outcome(
        30, "B", "MQL"
    )
    # 30 + 2·20 = 70, clamped to 50; fit 30 is an A: SQL
    assert spine.outcome(MODEL, {"fit": 30, "eng": 20}, excluded=False) == spine.Outcome(
        50, "A", "SQL"
    )
    # below every threshold: the default stage
    assert spine.outcome(MODEL, {"fit": 2, "eng": 1}, excluded=False).stage == "lead"


def test_an_excluded_subject_sits_at_the_floor_with_a_grade_and_no_stage():
    assert spine.outcome(MODEL, {"fit": 30, "eng": 20}, excluded=True) == spine.Outcome(
        0, "A", None
    )


def test_adjusted_points_are_clamped_and_move_the_stage():
    # 30 (MQL) + 15 = 45; grade A was given by fit, so 45 ≥ 40 is an SQL
    assert spine.adjusted(MODEL, {"fit": 30, "eng": 0}, 30, "A", 15) == spine.Outcome(
        45, "A", "SQL"
    )
    assert spine.adjusted(MODEL, {"fit": 30, "eng": 0}, 30, "A", -40).total == 0


# --------------------------------------------------------------------- numpy path


@st.composite
def scored_inputs(draw):
    model = load_model(draw(models()))
    n_rules = sum(1 for _ in model.rules())
    n = draw(st.integers(1, 5))
    points = np.array(
        [[draw(rule_points) for _ in range(n_rules)] for _ in range(n)], dtype=float
    ).reshape(n, n_rules)
    excluded = np.array([draw(st.booleans()) for _ in range(n)], dtype=bool)
    return model, points, excluded


@settings(max_examples=150, **SETTINGS)
@given(data=scored_inputs())
def test_numpy_path_gives_what_the_spine_gives(data):
    model, points, excluded = data
    scored = finish(model, points, excluded)
    for i in range(points.shape[0]):
        want = spine.outcome(model, _groups(model, points[i]), excluded=bool(excluded[i]))
        assert float(scored.total[i]) == want.total, i
        assert scored.grade[i] == want.grade, i
        assert scored.stage[i] == want.stage, i


# --------------------------------------------------------------------- SQL (DuckDB)


ALWAYS = {"id": {"exists": True}}


@st.composite
def constant_models(draw):
    """A random model whose rules are replaced by rules that always fire with random
    points, and one exclusion on the contact's ``flag``; with those points."""
    raw = draw(models())
    groups, points = {}, []
    for gname, group in raw["groups"].items():
        rules = []
        for r in group["rules"]:
            p = draw(rule_points)
            points.append(p)
            rule = {"name": r["name"], "when": ALWAYS, "points": p}
            if "weight" in r:
                rule["weight"] = r["weight"]
            rules.append(rule)
        groups[gname] = {k: v for k, v in group.items() if k not in ("rules", "decay")}
        groups[gname]["rules"] = rules
    raw = {**raw, "groups": groups, "exclusions": [{"name": "flagged", "when": {"flag": "yes"}}]}
    return load_model(raw), points, draw(st.booleans())


@pytest.mark.slow
@settings(max_examples=40, **SETTINGS)
@given(data=constant_models())
def test_duckdb_spine_gives_what_the_spine_gives(data):
    model, points, excluded = data
    contact = {"id": "c", "flag": "yes" if excluded else "no"}
    con = duck([contact], [], ["flag"], [])
    (row,) = score_sql([model], con, as_of=AS_OF)
    groups = _groups(model, points)
    want = spine.outcome(model, groups, excluded=excluded)
    for gname, value in groups.items():
        assert math.isclose(row[gname], value, rel_tol=1e-9, abs_tol=1e-9), gname
    assert math.isclose(row["total"], want.total, rel_tol=1e-9, abs_tol=1e-9)
    assert (row["grade"], row["stage"], row["excluded"]) == (want.grade, want.stage, excluded)

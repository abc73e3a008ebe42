"""The suggested scorecard: a valid model whose points the engine reproduces exactly."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from leadscore.engine import score_contact
from leadscore.model import load_model
from leadscore.predict import Scorecard
from leadscore.predict.metrics import auc
from leadscore.predict.scorecard import Bin
from leadscore.predict.table import take

from .conftest import X_LEAKING, tiny_table


def engine_totals(card: Scorecard, table: dict, n: int) -> list[float]:
    model = load_model(card.to_yaml("t"))
    rows = take(table, range(n))
    names = list(rows)
    return [
        score_contact(
            model, {"id": str(i), **{c: rows[c][i] for c in names}}, as_of="2026-01-01"
        ).total
        for i in range(n)
    ]


def test_points_favour_the_signal_and_span_zero_to_hundred():
    table, y = tiny_table(n=600)
    card = Scorecard(max_rules=4).fit(table, y)
    assert 1 <= card.n_rules_ <= 4
    fr = next(
        p
        for b, p in zip(card.bins_, card.points_, strict=True)
        if b.column == "country" and b.value == "FR"
    )
    assert fr > 0 and fr == max(card.points_)
    # lowest bin of each property gets 0: no negative points, max total about 100
    assert min([*card.points_, *card.else_points_.values()]) == 0
    best = sum(
        max(
            [p for b, p in zip(card.bins_, card.points_, strict=True) if b.column == c]
            + [card.else_points_[c]]
        )
        for c in card.columns_
    )
    assert abs(best - 100) <= len(card.columns_)  # rounding, at most 1 per property


def test_written_model_is_valid_and_the_engine_gives_the_same_points():
    table, y = tiny_table(n=300)
    table["note"] = ["x" if i % 3 else "" for i in range(300)]
    card = Scorecard(max_rules=8, min_count=5).fit(table, y)
    model = load_model(card.to_yaml("tiny"))
    n_cases = sum(len(r.cases) for _, r in model.rules())
    assert n_cases == card.n_rules_ <= 8
    assert engine_totals(card, table, 300) == list(card.points(table))


def test_bins_follow_the_model_language_value_semantics():
    assert Bin("c", "value", value="Google").matches("google")  # case-insensitive
    assert not Bin("c", "value", value="Google").matches(" Google")  # spaces count
    r = Bin("n", "range", low=2, high=5)
    assert r.matches("2") and r.matches(" 4.5 ") and not r.matches("5") and not r.matches("n/a")
    assert Bin("n", "missing").matches("  ") and Bin("n", "missing").matches(None)
    assert r.condition() == {"n": {"gte": 2, "lt": 5}}


def test_yaml_keeps_text_that_looks_like_booleans_as_text():
    card = Scorecard(max_rules=2, min_count=5).fit(
        {"opt_in": ["Yes"] * 30 + ["No"] * 30}, [1] * 25 + [0] * 5 + [0] * 25 + [1] * 5
    )
    data = yaml.safe_load(card.to_yaml())
    values = [c["when"]["opt_in"] for r in data["groups"]["fit"]["rules"] for c in r["cases"]]
    assert all(isinstance(v, str) for v in values)


@pytest.mark.slow
def test_x_education_scorecard_close_to_logistic_with_25_rules(x_education):
    from leadscore.data.io import load_inputs

    inputs = load_inputs(x_education, id_column="Prospect ID")
    cols = [c for c in inputs.properties if c not in (*X_LEAKING, "Lead Number")]
    names = ", ".join('"' + c + '"' for c in cols)
    rows = inputs.con.execute(f"SELECT {names} FROM contacts").fetchall()
    table = {c: [r[j] for r in rows] for j, c in enumerate(cols) if c != "Converted"}
    y = np.array([int(r[cols.index("Converted")]) for r in rows])
    card = Scorecard(max_rules=25).fit(table, y)
    assert card.n_rules_ <= 25
    assert auc(y, card.points(table)) > 0.85  # logistic regression: about 0.865 in CV
    assert engine_totals(card, table, 300) == list(card.points(take(table, range(300))))

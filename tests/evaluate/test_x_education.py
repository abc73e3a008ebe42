"""The worked example of docs/backtest.md on the real X Education leads."""

from __future__ import annotations

import csv

import pytest
from sklearn.metrics import roc_auc_score

from leadscore.data.io import load_inputs
from leadscore.engine.inprocess import score_contact
from leadscore.evaluate import Options, run_backtest
from leadscore.model import load_model

from ..conftest import EXAMPLES, SHARED_DATA

LEADS = SHARED_DATA / "x_education_leads.csv"
AS_OF = "2026-01-01"


@pytest.fixture(scope="module")
def rows():
    if not LEADS.exists():
        pytest.skip(f"{LEADS} is missing: the X Education backtest did NOT run")
    with LEADS.open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def backtest(rows):
    from leadscore.engine import values as V

    models = [load_model(EXAMPLES / f"x_education{s}.yaml") for s in ("", "_v3", "_v5")]
    return run_backtest(
        models,
        load_inputs(LEADS, id_column="Prospect ID"),
        outcome="Converted",
        as_of=V.timestamp(AS_OF),
        options=Options(resamples=50),
    )


def test_population_and_outcome(rows, backtest):
    assert len(backtest.population.ids) == len(rows) == 9240
    assert int(backtest.population.y.sum()) == sum(r["Converted"] == "1" for r in rows)


def test_auc_matches_scikit_learn_on_the_reference_evaluator(rows, backtest):
    model = load_model(EXAMPLES / "x_education.yaml")
    by_id = {r["Prospect ID"]: r for r in rows}
    totals = [
        score_contact(model, {**by_id[i], "id": i}, [], as_of=AS_OF).total
        for i in backtest.population.ids
    ]
    expected = roc_auc_score(backtest.population.y, totals)
    assert backtest.variants[0].auc == pytest.approx(expected, abs=1e-12)


def test_rule_counts_match_the_file(rows, backtest):
    v3 = {r.rule: r for r in backtest.variants[1].rules}
    working = [r for r in rows if r["What is your current occupation"] == "Working Professional"]
    assert v3["Working professional"].fires_on == len(working)
    assert v3["Working professional"].conversion_with == pytest.approx(
        sum(r["Converted"] == "1" for r in working) / len(working)
    )


def test_acting_on_the_diagnostics_pays_and_the_interval_says_so(backtest):
    base = {r.rule: r for r in backtest.variants[0].rules}
    for name in ("Came through the chat", "Returning visitor", "Reads several pages a visit"):
        assert "hurts: AUC rises without it" in base[name].flags, name
    diff = backtest.bootstrap.auc_diff["x-education-v5"]
    assert diff.estimate > 0 and diff.low > 0

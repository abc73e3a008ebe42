"""The estimator contract, run on every estimator (as scikit-learn's check_estimator)."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from leadscore.predict import LeadModel, LogisticOneHot, NaiveBayesScorer, Scorecard
from leadscore.predict.metrics import auc
from leadscore.predict.table import take

from .conftest import tiny_table

ESTIMATORS = {
    "lead model": lambda: LeadModel(max_rounds=30, early_stopping_rounds=10),
    "naive Bayes": lambda: NaiveBayesScorer(),
    "logistic one-hot": lambda: LogisticOneHot(),
    "scorecard": lambda: Scorecard(max_rules=6),
}


@pytest.fixture(params=sorted(ESTIMATORS), scope="module")
def fitted(request):
    table, y = tiny_table()
    estimator = ESTIMATORS[request.param]()
    before = dict(vars(estimator))
    returned = estimator.fit(table, y)
    return estimator, returned, before, table, y


def test_fit_returns_self(fitted):
    estimator, returned, *_ = fitted
    assert returned is estimator


def test_constructor_parameters_untouched_and_learned_attributes_end_in_underscore(fitted):
    estimator, _, before, *_ = fitted
    after = vars(estimator)
    for name, value in before.items():
        assert after[name] == value, f"fit changed the parameter {name}"
    learned = set(after) - set(before)
    assert learned, "fit learned nothing"
    assert all(name.endswith("_") for name in learned), sorted(learned)


def test_probabilities_are_valid_and_rank_the_signal(fitted):
    estimator, _, _, table, y = fitted
    proba = estimator.predict_proba(table)
    assert proba.shape == (len(y), 2)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert auc(y, proba[:, 1]) > 0.7  # country FR and size drive the outcome


def test_predict_proba_is_pure(fitted):
    estimator, _, _, table, _ = fitted
    state = {k: copy.copy(v) for k, v in vars(estimator).items() if not k.endswith("_")}
    keys = set(vars(estimator))
    snapshot = copy.deepcopy(table)
    first = estimator.predict_proba(table)
    second = estimator.predict_proba(table)
    np.testing.assert_array_equal(first, second)
    assert table == snapshot
    assert set(vars(estimator)) == keys
    assert {k: v for k, v in vars(estimator).items() if not k.endswith("_")} == state


def test_pickles(fitted):
    estimator, _, _, table, _ = fitted
    clone = pickle.loads(pickle.dumps(estimator))
    np.testing.assert_allclose(clone.predict_proba(table), estimator.predict_proba(table))


def test_unseen_categories_are_accepted(fitted):
    estimator, *_ = fitted
    new = {"country": ["JP", "FR"], "employees": ["10", "not a number"], "source": ["tv", None]}
    proba = estimator.predict_proba(new)
    assert proba.shape == (2, 2) and np.all(np.isfinite(proba))


def test_missing_columns_are_treated_as_missing(fitted):
    estimator, _, _, table, _ = fitted
    rows = take(table, [0, 1, 2])
    del rows["employees"]
    proba = estimator.predict_proba(rows)
    assert proba.shape == (3, 2) and np.all(np.isfinite(proba))
    blank = take(table, [0, 1, 2])
    blank["employees"] = [None, None, None]
    np.testing.assert_allclose(proba, estimator.predict_proba(blank))

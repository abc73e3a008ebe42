"""Naive Bayes and the metrics, against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from leadscore.predict import NaiveBayesScorer
from leadscore.predict.estimators import fit_platt, sigmoid
from leadscore.predict.metrics import lift_at, single_feature_auc, summary

COLORS = {"color": ["red", "red", "blue", "blue", "green"]}
WON = [1, 1, 1, 0, 0]


def test_naive_bayes_frequency_table_by_hand():
    nb = NaiveBayesScorer().fit(COLORS, WON)
    # won/lost counts start at 0.1: red 2.1/0.1, blue 1.1/1.1, green 0.1/1.1
    # sums: won 3.3, lost 2.3; priors 3/5 and 2/5
    s_won, s_lost = 0.6 * 2.1 / 3.3, 0.4 * 0.1 / 2.3
    p = nb.predict_proba({"color": ["red", "purple", None]})[:, 1]
    assert p[0] == pytest.approx(s_won / (s_won + s_lost))  # 0.9564
    assert p[1] == pytest.approx(0.6)  # unseen value: ignored, the prior remains
    assert p[2] == pytest.approx(0.6)  # empty value: skipped


def test_naive_bayes_ignores_values_below_minimum_support():
    nb = NaiveBayesScorer(min_support=2).fit(COLORS, WON)
    # green (1 lead) has no row; sums: won 2.1 + 1.1, lost 0.1 + 1.1
    s_won, s_lost = 0.6 * 2.1 / 3.2, 0.4 * 0.1 / 1.2
    p = nb.predict_proba({"color": ["red", "green"]})[:, 1]
    assert p[0] == pytest.approx(s_won / (s_won + s_lost))  # 0.9220
    assert p[1] == pytest.approx(0.6)


def test_naive_bayes_clips_to_percent_range():
    nb = NaiveBayesScorer(smoothing=1e-9).fit({"c": ["a"] * 5 + ["b"] * 5}, [1] * 5 + [0] * 5)
    p = nb.predict_proba({"c": ["a", "b"]})[:, 1]
    assert p[0] == pytest.approx(0.9999) and p[1] == pytest.approx(0.0001)


def test_lift_at_ten_percent_by_hand():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    p = np.linspace(1, 0, 10)  # the first contact ranks first and converted
    assert lift_at(y, p) == pytest.approx(1 / 0.2)  # top 1 of 10 converts at 100%, base 20%


def test_summary_of_a_perfect_ranking():
    out = summary(np.array([0, 0, 1, 1]), np.array([0.0, 0.0, 1.0, 1.0]))
    assert out["auc"] == 1.0 and out["average_precision"] == 1.0 and out["brier"] == 0.0
    assert out["lift_at_10pct"] == pytest.approx(2.0)


def test_single_feature_auc_spots_the_outcome_in_disguise():
    y = np.array([0, 1] * 50)
    assert single_feature_auc(y.astype(float), y, categorical=True) == 1.0
    noise = np.zeros(100)
    assert single_feature_auc(noise, y, categorical=False) == 0.5


def test_platt_scaling_recovers_a_known_slope():
    rng = np.random.default_rng(0)
    s = rng.normal(size=20000)
    y = (rng.random(20000) < sigmoid(2.0 * s - 0.5)).astype(int)
    a, b = fit_platt(s, y)
    assert a == pytest.approx(2.0, abs=0.1) and b == pytest.approx(-0.5, abs=0.1)

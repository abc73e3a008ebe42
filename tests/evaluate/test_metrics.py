"""Metrics on tiny data worked out by hand, and cross-checked against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

from leadscore.evaluate import metrics as M

# Ten contacts; one tie (80) between a converter and a non-converter.
SCORES = np.array([90, 80, 80, 70, 60, 50, 40, 30, 20, 10], dtype=float)
Y = np.array([1, 1, 0, 1, 0, 0, 1, 0, 0, 0], dtype=float)


def counts():
    return M.rank(SCORES, Y).counts()


def test_auc_by_hand_with_a_tie():
    # Pairs won by each converter over the 6 non-converters:
    # 90 → 6; 80 → 5 below + ½ for the tie; 70 → 5; 40 → 3. (6 + 5.5 + 5 + 3) / (4 × 6)
    assert M.roc_auc(*counts()) == pytest.approx(19.5 / 24)


def test_average_precision_by_hand():
    # Recall rises by ¼ at 90 (precision 1), 80 (2/3), 70 (3/4) and 40 (4/7).
    expected = 0.25 * (1 + 2 / 3 + 3 / 4 + 4 / 7)
    assert M.average_precision(*counts()) == pytest.approx(expected)


def test_top_share_shares_a_boundary_tie():
    top10 = M.top_share(*counts(), 0.10)  # one contact: the 90, a converter
    assert (top10.conversion_rate, top10.lift, top10.capture) == pytest.approx((1.0, 2.5, 0.25))
    top20 = M.top_share(*counts(), 0.20)  # the 90 and half of the 80s block (1 of 2 converted)
    assert top20.conversions == pytest.approx(1.5)
    assert top20.lift == pytest.approx(0.75 / 0.4)
    assert top20.capture == pytest.approx(1.5 / 4)


def test_constant_score_has_no_lift():
    r = M.rank(np.full(10, 42.0), Y)
    assert M.top_share(*r.counts(), 0.1).lift == pytest.approx(1.0)
    assert M.roc_auc(*r.counts()) == pytest.approx(0.5)


def test_best_f1_threshold_by_hand():
    # F1 = 2·TP / (volume + 4): ≥90 .40, ≥80 .57, ≥70 .75, ≥60 .67, ≥40 .73 → 70 wins.
    best = M.best_f1(M.rank(SCORES, Y))
    assert best.threshold == 70
    assert (best.volume, best.true_positives) == (4, 3)
    assert (best.precision, best.recall, best.f1) == pytest.approx((0.75, 0.75, 0.75))


def test_threshold_for_a_target_volume():
    r = M.rank(SCORES, Y)
    assert M.for_volume(r, 3).threshold == 80  # 90 + both 80s
    assert M.for_volume(r, 2).threshold == 90  # taking the 80s would make 3
    assert M.for_volume(r, 2).volume == 1
    none = M.for_volume(M.rank(np.full(10, 5.0), Y), 3)  # one block of 10: no threshold fits
    assert none.threshold is None and none.volume == 0


def test_threshold_for_a_target_precision():
    r = M.rank(SCORES, Y)
    # precision by threshold: 1, 2/3, 3/4, 3/5, 1/2, 4/7, …: the lowest with ≥ 0.7 is 70
    got = M.for_precision(r, 0.7)
    assert got.threshold == 70 and got.precision == pytest.approx(0.75)
    assert M.for_precision(r, 1.0).threshold == 90


def test_bands_and_labels():
    bands = M.by_band(SCORES, Y, 0, 100, 10)
    assert [b.contacts for b in bands] == [0, 1, 1, 1, 1, 1, 1, 1, 2, 1]
    assert bands[8].label == "80–90" and bands[8].conversion_rate == 0.5
    assert bands[9].contacts == 1  # 90 lands in the last band; 100 would too
    assert M.by_band(np.array([100.0]), np.array([1.0]), 0, 100, 10)[9].contacts == 1
    grades = M.by_label(["A", "B", "A", None], np.array([1, 0, 0, 1.0]), ["A", "B", "C"])
    assert [(g.label, g.contacts, g.conversions) for g in grades] == [
        ("A", 2, 1),
        ("B", 1, 0),
        ("(none)", 1, 1),
    ]


def test_calibration_bins_keep_ties_together():
    # Each block of equal scores goes to the bin holding its centre (counted from the top):
    # 90 → 0.05, the two 80s → 0.2, 70 → 0.35, 60 → 0.45, … → five bins, lowest first.
    bins = M.by_quantile(M.rank(SCORES, Y), SCORES, 5)
    assert [(b.label, b.contacts, b.conversions) for b in bins] == [
        ("10–20", 2, 0),
        ("30–40", 2, 1),
        ("50–60", 2, 0),
        ("70–80", 3, 2),
        ("90", 1, 1),
    ]
    assert bins[3].mean_score == pytest.approx(230 / 3)


def test_confusion_of_a_stage():
    predicted = SCORES >= 70
    c = M.confusion(predicted, Y)
    assert (c.volume, c.true_positives) == (4, 3)
    assert c.f1 == pytest.approx(f1_score(Y, predicted))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_and_ap_match_scikit_learn_with_many_ties(seed):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 15, 400).astype(float)
    y = (rng.random(400) < 0.2 + scores / 30).astype(float)
    r = M.rank(scores, y)
    assert M.roc_auc(*r.counts()) == pytest.approx(roc_auc_score(y, scores), abs=1e-12)
    assert M.average_precision(*r.counts()) == pytest.approx(
        average_precision_score(y, scores), abs=1e-12
    )
    weights = np.bincount(rng.integers(0, 400, 400), minlength=400).astype(float)
    assert M.roc_auc(*r.counts(weights)) == pytest.approx(
        roc_auc_score(y, scores, sample_weight=weights), abs=1e-12
    )


def test_best_f1_matches_a_brute_force_search():
    rng = np.random.default_rng(5)
    scores = rng.integers(0, 30, 300).astype(float)
    y = (rng.random(300) < scores / 40).astype(float)
    best = max(
        ((f1_score(y, scores >= t), -t) for t in np.unique(scores)),
    )
    got = M.best_f1(M.rank(scores, y))
    assert got.f1 == pytest.approx(best[0])
    assert got.threshold == -best[1]


@given(
    st.lists(st.tuples(st.integers(0, 6), st.booleans()), min_size=2, max_size=60).filter(
        lambda rows: len({y for _, y in rows}) == 2
    ),
    st.sampled_from([0.05, 0.1, 0.2, 0.5]),
)
@settings(max_examples=60, deadline=None)
def test_metrics_agree_with_scikit_learn_and_a_brute_force_top_share(rows, share):
    scores = np.array([float(s) for s, _ in rows])
    y = np.array([float(v) for _, v in rows])
    r = M.rank(scores, y)
    pos, neg = r.counts()
    assert M.roc_auc(pos, neg) == pytest.approx(roc_auc_score(y, scores), abs=1e-12)
    assert M.average_precision(pos, neg) == pytest.approx(
        average_precision_score(y, scores), abs=1e-12
    )
    # Top share by brute force: the expected conversions over every order of the ties.
    want = share * len(y)
    taken, conversions = 0.0, 0.0
    for value in sorted(set(scores), reverse=True):
        block = y[scores == value]
        take = min(len(block), want - taken)
        if take <= 0:
            break
        conversions += take * block.mean()
        taken += take
    top = M.top_share(pos, neg, share)
    assert top.conversions == pytest.approx(conversions)
    assert top.capture == pytest.approx(conversions / y.sum())


def test_gain_curve_is_the_capture_of_each_top_share():
    r = M.rank(SCORES, Y)
    xs, ys = M.gain_curve(r, points=11)
    assert ys[0] == 0.0 and ys[-1] == pytest.approx(1.0)
    for x, y in zip(xs[1:], ys[1:], strict=True):
        assert y == pytest.approx(M.top_share(*r.counts(), x).capture)

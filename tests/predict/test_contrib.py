"""Batch contributions, computed once per pattern of each tree, give what LightGBM's
row-by-row TreeSHAP gives, and batch predictions the same scores and reasons as one
contact at a time."""

from __future__ import annotations

import numpy as np
import pytest

from leadscore.data.generate import generate
from leadscore.data.io import load_inputs
from leadscore.predict import TrainOptions, train
from leadscore.predict import features as F
from leadscore.predict.artefact import PATTERN_ROWS
from leadscore.predict.contrib import contributions, trees_of
from leadscore.predict.table import take

ATOL = 1e-12


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A model trained on generated contacts and events, and its feature table with
    duplicated contacts and contacts whose properties are all missing added."""
    folder = tmp_path_factory.mktemp("contrib")
    cpath, epath = generate(800, 3, folder)
    model = train(cpath, epath, TrainOptions(outcome="converted", outcome_time="converted_at"))
    inputs = load_inputs(cpath, epath)
    ids, table = F.build(inputs, model.config, F.resolve_as_of(None, inputs))
    n = len(ids)
    index = [*range(n), 0, 0, 5, 5, 5, *range(40)]
    table = take(table, index)
    ids = [*ids, "dup0a", "dup0b", "dup5a", "dup5b", "dup5c", *(f"blank{i}" for i in range(40))]
    for name, col in table.items():
        if not name.startswith(F.EVENT_PREFIX):
            col[n + 5 :] = None  # the properties of the last 40 contacts are missing
        elif col.dtype.kind == "f":
            col[n + 5 : n + 25] = np.nan  # and 20 of them have no event feature either
    return model, ids, table


def edge_rows(model, matrix: np.ndarray) -> np.ndarray:
    """Rows at each numeric split's threshold, just below and just above it, missing,
    zero, nearly zero (read as zero) and an unseen category."""
    rows = []
    base = matrix[0]
    for tree in trees_of(model.estimator.booster_, model.estimator.rounds_)[:20]:
        for s in tree.splits:
            if s.categories is not None:
                values = [float(s.categories[0]), 10_000.0, np.nan]
            else:
                t = s.threshold
                values = [t, np.nextafter(t, -np.inf), np.nextafter(t, np.inf), np.nan, 0.0, 1e-36]
            for v in values:
                row = base.copy()
                row[s.feature] = v
                rows.append(row)
    return np.array(rows)


def test_pattern_contributions_are_lightgbm_treeshap(generated):
    model, _, table = generated
    est = model.estimator
    matrix = est.encoder_.transform(table)
    matrix = np.vstack([matrix, edge_rows(model, matrix)])
    trees = trees_of(est.booster_, est.rounds_)
    got = contributions(est.booster_, trees, matrix)
    want = est.booster_.predict(matrix, pred_contrib=True)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=ATOL)
    # they still add up to the trees' raw score
    np.testing.assert_allclose(got.sum(axis=1), est.booster_.predict(matrix, raw_score=True))


def test_a_contacts_contributions_do_not_depend_on_the_batch(generated):
    model, _, table = generated
    est = model.estimator
    matrix = est.encoder_.transform(table)
    trees = trees_of(est.booster_, est.rounds_)
    whole = contributions(est.booster_, trees, matrix)
    some = np.random.default_rng(0).permutation(len(matrix))[: PATTERN_ROWS + 50]
    assert np.array_equal(contributions(est.booster_, trees, matrix[some]), whole[some])
    assert np.array_equal(contributions(est.booster_, trees, matrix, num_threads=2), whole)


def rendered(p) -> tuple:
    """A prediction as `leadscore predict` writes it."""
    return (p.contact_id, round(p.probability, 6), p.score, p.band, [str(r) for r in p.reasons])


def test_batch_predictions_are_the_per_contact_ones(generated):
    model, ids, table = generated
    assert len(ids) >= PATTERN_ROWS  # the batch takes the per-pattern path
    batch = model.predict_table(ids, table)
    for i, cid in enumerate(ids):
        one = model.predict_table([cid], take(table, [i]))[0]  # row by row in LightGBM
        got = batch[i]
        assert (got.contact_id, got.score, got.band) == (one.contact_id, one.score, one.band)
        assert got.probability == pytest.approx(one.probability, abs=ATOL)
        assert [(r.feature, r.value) for r in got.reasons] == [
            (r.feature, r.value) for r in one.reasons
        ]
        assert [r.effect for r in got.reasons] == pytest.approx(
            [r.effect for r in one.reasons], abs=ATOL
        )
        assert rendered(got) == rendered(one)
    # duplicated contacts get exactly the same answer; missing values are named
    by_id = dict(zip(ids, batch, strict=True))
    for a, b in (("dup0a", "dup0b"), ("dup5a", "dup5c")):
        assert by_id[a].reasons == by_id[b].reasons
        assert by_id[a].probability == by_id[b].probability
    assert any(r.value == "(missing)" for p in batch[-40:] for r in p.reasons)


def test_reasons_are_the_largest_effects_ties_to_the_earlier_feature(generated, monkeypatch):
    model, ids, table = generated
    sub = take(table, range(3))
    n_features = len(model.estimator.feature_names_)
    a = model.estimator.calibration_[0]
    contrib = np.zeros((3, n_features + 1))
    contrib[0, [4, 2, 7]] = [0.5, -0.5, 0.25]  # a tie in size: feature 2 comes first
    contrib[1, [1, 3]] = [1e-12, -2.0]  # below 1e-9: not a reason
    contrib[2, :] = 0.0  # no reason at all
    contrib[:, -1] = -1.0
    monkeypatch.setattr(type(model), "contributions", lambda self, m, t=None: contrib / a)
    preds = model.predict_table(ids[:3], sub)
    labels = model._labels()
    assert [r.feature for r in preds[0].reasons] == [labels[2], labels[4], labels[7]]
    assert [r.effect for r in preds[0].reasons] == pytest.approx([-0.5, 0.5, 0.25])
    assert [r.feature for r in preds[1].reasons] == [labels[3]]
    assert preds[2].reasons == ()
    # the bias alone: log-odds a * (-1 / a) + b
    b = model.estimator.calibration_[1]
    assert preds[2].probability == pytest.approx(1 / (1 + np.exp(1.0 - b)))
    assert preds[2].score == round(100 * preds[2].probability)


def test_text_columns_encode_the_same_however_they_are_given():
    from leadscore.predict.table import OTHER_LABEL, TableEncoder

    rows = ["FR", " fr", "US", None, "Select", "US", "BR"] * 10
    enc = TableEncoder(min_count=20, missing_values=["select"]).fit({"country": rows})
    col = enc.columns_[0]
    # by hand: "fr" (20) and "us" (20) kept, most frequent first then by key; "br" rare
    assert col.categories == ["fr", "us"]
    want = [0, 0, 1, col.missing_code, col.missing_code, 1, col.other_code] * 10
    as_array = np.empty(len(rows), dtype=object)
    as_array[:] = rows
    mixed = [*rows[:-1], 7]  # not all text: another way through, the same codes
    for given in (rows, as_array):
        assert enc.transform({"country": given})[:, 0].tolist() == want
    assert enc.transform({"country": mixed})[:, 0].tolist() == [*want[:-1], col.other_code]
    assert enc.describe(0, col.other_code) == OTHER_LABEL

"""Training: the checks that refuse bad data, the leakage screen, the card, the artefact."""

from __future__ import annotations

import json

import numpy as np
import pytest

from leadscore.errors import DataError
from leadscore.predict import TrainedModel, TrainOptions, train
from leadscore.predict.bands import BAND_QUANTILES

FAST = {"max_rounds": 60, "early_stopping_rounds": 20}


def write(tmp_path, rows: list[str], name: str = "c.csv"):
    path = tmp_path / name
    path.write_text("\n".join(rows) + "\n")
    return path


def options(**kw) -> TrainOptions:
    return TrainOptions(outcome=kw.pop("outcome", "won"), params=FAST, **kw)


def test_missing_outcome_column_names_the_columns(tmp_path):
    path = write(tmp_path, ["id,a", "1,x"])
    with pytest.raises(DataError, match=r"no column 'won'; the columns are: a"):
        train(path, None, options())


def test_non_binary_outcome(tmp_path):
    path = write(tmp_path, ["id,a,won", "1,x,1", "2,y,maybe", "3,z,0"])
    with pytest.raises(DataError, match="not binary: found 'maybe'"):
        train(path, None, options())


def test_single_class(tmp_path):
    path = write(tmp_path, ["id,a,won"] + [f"{i},x,1" for i in range(100)])
    with pytest.raises(DataError, match="every one of the 100 contacts is converted"):
        train(path, None, options())


def test_too_few_rows(tmp_path):
    path = write(tmp_path, ["id,a,won"] + [f"{i},x,{i % 2}" for i in range(30)])
    with pytest.raises(DataError, match=r"too few rows.*15 converted and 15 not converted"):
        train(path, None, options())


def test_contacts_without_outcome_are_left_out_and_counted(tmp_path):
    rng = np.random.default_rng(1)
    rows = ["id,size,won"] + [
        f"{i},{rng.integers(1, 100)},{'' if i % 10 == 0 else int(rng.random() < 0.4)}"
        for i in range(200)
    ]
    model = train(write(tmp_path, rows), None, options())
    assert model.card["data"]["contacts_skipped_no_outcome"] == 20
    assert model.card["data"]["contacts_used"] == 180


def test_events_after_the_outcome_leak_unless_point_in_time(synthetic):
    contacts, events = synthetic
    # a purchase happens at the moment of conversion: counting it is the outcome in disguise
    with pytest.raises(DataError, match=r"probable leakage: 'purchase events'"):
        train(contacts, events, options(outcome="converted", drop=("converted_at",)))
    model = train(contacts, events, options(outcome="converted", outcome_time="converted_at"))
    assert model.card["data"]["point_in_time"] is True
    assert max(r["auc"] for r in model.card["leakage_screen"]) < 0.98
    assert model.card["held_out"]["auc"] > 0.7


def test_leakage_can_be_allowed_and_is_then_a_warning(synthetic):
    contacts, events = synthetic
    model = train(
        contacts,
        events,
        options(outcome="converted", drop=("converted_at",), allow_leakage=True),
    )
    assert any("probable leakage allowed: purchase events" in w for w in model.card["warnings"])


def test_card_thin_data_warning_and_bands(synthetic, tmp_path):
    contacts, events = synthetic
    model = train(contacts, events, options(outcome="converted", outcome_time="converted_at"))
    card = model.card
    n_pos, n_neg = card["class_balance"]["converted"], card["class_balance"]["not_converted"]
    assert n_pos + n_neg == 300
    assert any(
        f"{n_pos} converted and {n_neg} not converted" in w and "at least 500" in w
        for w in card["warnings"]
    )
    assert set(card["held_out"]) >= {"auc", "average_precision", "lift_at_10pct", "brier"}
    assert card["top_features"] and card["data"]["event_features"]
    # band cut-offs are the documented quantiles of the training probabilities
    cuts = list(model.bands.values())
    assert list(model.bands) == list(BAND_QUANTILES) and cuts == sorted(cuts, reverse=True)
    out = model.save(tmp_path / "m")
    for name in ("model.pkl", "model_card.md", "model_card.json", "training_ids.txt"):
        assert (out / name).exists()
    assert json.loads((out / "model_card.json").read_text())["class_balance"]["converted"] == n_pos
    text = (out / "model_card.md").read_text()
    assert "Held-out performance" in text and "Warnings" in text and "thin data" in text
    again = TrainedModel.load(out)
    assert len(again.training_ids) == 300


def test_predict_contact_matches_batch_prediction(synthetic, tmp_path):
    contacts, events = synthetic
    model = train(contacts, events, options(outcome="converted", outcome_time="converted_at"))
    batch = {p.contact_id: p for p in model.predict_files(contacts, events)}
    import csv

    with open(contacts) as fh:
        contact = next(r for r in csv.DictReader(fh) if r["id"] == "c0007")
    with open(events) as fh:
        all_events = list(csv.DictReader(fh))
    evs = [r for r in all_events if r["contact_id"] == "c0007"]
    as_of = max(r["ts"] for r in all_events)
    one = model.predict_contact(contact, evs, as_of)
    assert one.probability == pytest.approx(batch["c0007"].probability)
    assert one.band == batch["c0007"].band and one.score == batch["c0007"].score
    assert [r.feature for r in one.reasons] == [r.feature for r in batch["c0007"].reasons]
    # the contributions explain the probability: bias + reasons' sum is the log-odds
    est = model.estimator
    assert 0 < len(one.reasons) <= 3
    assert one.score == round(100 * one.probability)
    assert est.calibration_[0] > 0


@pytest.mark.slow
def test_x_education_honest_columns(x_education):
    from .conftest import X_LEAKING

    model = train(
        x_education,
        None,
        TrainOptions(
            outcome="Converted",
            id_column="Prospect ID",
            missing_values=("Select",),
            drop=(*X_LEAKING, "Lead Number"),
        ),
    )
    card = model.card
    assert card["class_balance"] == {"converted": 3561, "not_converted": 5679, "rate": 0.3854}
    assert card["warnings"] == []  # above 500 converted and 1,000 not converted
    assert card["held_out"]["auc"] > 0.86  # logistic regression: about 0.865 in CV
    assert card["held_out"]["lift_at_10pct"] > 2.0
    assert card["top_features"][0]["feature"] == "Total Time Spent on Website"


@pytest.mark.slow
def test_x_education_all_columns_warns_about_tags(x_education):
    model = train(
        x_education,
        None,
        TrainOptions(outcome="Converted", id_column="Prospect ID", params=FAST),
    )
    assert any(
        w.startswith("Tags alone ranks contacts with AUC 0.9") for w in model.card["warnings"]
    )


def test_unreadable_outcome_times_are_named(tmp_path):
    rows = ["id,won,won_at"] + [f"{i},{i % 2},{'soon' if i == 3 else ''}" for i in range(60)]
    with pytest.raises(DataError, match="outcome times that cannot be read: 'soon'"):
        train(write(tmp_path, rows), None, options(outcome_time="won_at"))


def test_predict_contacts_with_engine_events_matches_batch(synthetic):
    import csv

    from leadscore.engine import to_event

    contacts, events = synthetic
    model = train(contacts, events, options(outcome="converted", outcome_time="converted_at"))
    batch = {p.contact_id: p for p in model.predict_files(contacts, events)}
    with open(contacts) as fh:
        people = list(csv.DictReader(fh))[:25]
    with open(events) as fh:
        all_events = list(csv.DictReader(fh))
    as_of = max(r["ts"] for r in all_events)
    pairs = [(c, [to_event(e) for e in all_events if e["contact_id"] == c["id"]]) for c in people]
    got = model.predict_contacts(pairs[::-1], as_of)  # answers come in the order asked
    assert [p.contact_id for p in got] == [c["id"] for c, _ in pairs[::-1]]
    for p in got:
        assert p.probability == pytest.approx(batch[p.contact_id].probability)
        # the batch's contributions are summed per tree (see predict.contrib): the same
        # TreeSHAP values to about 1e-15, not to the last bit
        want = batch[p.contact_id].reasons
        assert [(r.feature, r.value) for r in p.reasons] == [(r.feature, r.value) for r in want]
        assert [r.effect for r in p.reasons] == pytest.approx([r.effect for r in want], abs=1e-12)
        assert [str(r) for r in p.reasons] == [str(r) for r in want]

"""Point in time without bias: contacts without an outcome time are seen at moments of
their life drawn like the converters', not at the end of the data."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from leadscore.data.io import load_inputs
from leadscore.errors import DataError
from leadscore.predict import TrainedModel, TrainOptions, train
from leadscore.predict import features as F
from leadscore.predict.metrics import single_feature_auc
from leadscore.predict.snapshots import matched_cutoffs
from leadscore.predict.training import load_dataset

from .conftest import write_csvs

END = datetime(2026, 3, 1, tzinfo=UTC)
FAST = {"max_rounds": 200, "early_stopping_rounds": 30}
TIMING = (
    "event:days_since_first",
    "event:days_since_last",
    "event:count",
    "event:active_days",
    "event:email_sent",
)


def write_timing_neutral(folder: Path, n: int = 1500, seed: int = 0) -> tuple[Path, Path]:
    """Only ``plan`` says who converts. Everyone gets e-mails and views pages at the
    same steady rates from sign-up to the end of the data, converted or not, and a
    conversion happens at a uniformly random moment between sign-up and the end: when
    the clock stops says nothing about who converts."""
    rng = np.random.default_rng(seed)
    contacts, events = [], []
    eid = 0
    for i in range(n):
        cid = f"t{i:05d}"
        signup = END - timedelta(days=float(rng.uniform(1, 365)))
        plan = str(rng.choice(["a", "b"]))
        converted = rng.random() < (0.45 if plan == "a" else 0.12)
        life = (END - signup).total_seconds()
        conv_at = signup + timedelta(seconds=float(rng.uniform(0, life))) if converted else None
        contacts.append(
            {
                "id": cid,
                "plan": plan,
                "converted": int(converted),
                "converted_at": conv_at.isoformat() if conv_at else "",
            }
        )
        for kind, every_days in (("email_sent", 7.0), ("page_view", 5.0)):
            t = signup
            while (t := t + timedelta(days=float(rng.exponential(every_days)))) < END:
                eid += 1
                events.append(
                    {"event_id": f"e{eid}", "contact_id": cid, "type": kind, "ts": t.isoformat()}
                )
    return write_csvs(folder, contacts, events)


@pytest.fixture(scope="module")
def neutral(tmp_path_factory) -> tuple[Path, Path]:
    return write_timing_neutral(tmp_path_factory.mktemp("timing-neutral"))


def options(snapshots: str) -> TrainOptions:
    return TrainOptions(
        outcome="converted", outcome_time="converted_at", snapshots=snapshots, params=FAST
    )


def fitted(neutral, snapshots: str):
    """The held-out AUC with every feature and with the properties alone, the share
    of contacts whose first reason is a timing feature, and the dataset."""
    data = load_dataset(*neutral, options(snapshots))
    model = train(*neutral, options(snapshots), dataset=data)
    props = {k: v for k, v in data.table.items() if not k.startswith(F.EVENT_PREFIX)}
    alone = train(*neutral, options(snapshots), dataset=replace(data, table=props))
    first = Counter(p.reasons[0].feature for p in model.predict_table(data.ids, data.table, 1))
    timing = 1 - first["plan"] / sum(first.values())
    return model.card["held_out"]["auc"], alone.card["held_out"]["auc"], timing, data, model


def test_timing_carries_no_signal_once_snapshots_are_matched(neutral):
    with_events, properties_only, timing_share, data, model = fitted(neutral, "matched")
    # removing every event feature costs nothing: the model did not learn the clock
    assert with_events <= properties_only + 0.02
    assert model.card["top_features"][0]["column"] == "plan"
    assert timing_share < 0.05  # nearly every contact's first reason is its plan
    # days since the first event ranks converters no better than a shuffled outcome does
    shuffled = np.random.default_rng(1).permutation(data.y)
    for column in TIMING:
        x = np.nan_to_num(np.asarray(data.table[column], dtype=float), nan=-1.0)
        real = single_feature_auc(x, data.y, False)
        assert real < single_feature_auc(x, shuffled, False) + 0.04, column
    snaps = model.card["data"]["snapshots"]
    assert snaps["at_outcome_time"] == int(data.y.sum())
    assert snaps["at_a_drawn_moment"] + snaps["whole_history"] == len(data.y) - data.y.sum()


def test_snapshots_at_the_end_of_the_data_learn_the_clock(neutral):
    # the biased set-up this replaces, kept as an option: the event features look
    # useful (converters were seen young, at conversion) and the reasons show it
    with_events, properties_only, timing_share, data, _ = fitted(neutral, "end")
    assert with_events > properties_only + 0.05
    assert timing_share > 0.05
    x = np.asarray(data.table["event:days_since_first"], dtype=float)
    assert single_feature_auc(np.nan_to_num(x, nan=-1.0), data.y, False) > 0.7


def test_matched_cutoffs_by_hand(tmp_path):
    # a converted at 01-11, 10 days after its first event (01-01), 30 days before as_of:
    # its lifetime is 40 days and it was seen at 1/4 of it. b and c have no outcome time:
    # each borrows that share of its own lifetime (the only timed contact is the nearest):
    # b, known 60 days, is seen 15 days in (12-27); c, known 21 days, 5.25 days in
    (tmp_path / "c.csv").write_text(
        "id,converted,converted_at\na,1,2026-01-11T00:00:00Z\nb,0,\nc,0,\nd,0,\n"
    )
    (tmp_path / "e.csv").write_text(
        "contact_id,type,ts\n"
        "a,page_view,2026-01-01T00:00:00Z\n"
        "a,page_view,2026-01-12T00:00:00Z\n"
        "b,page_view,2025-12-12T00:00:00Z\n"
        "c,page_view,2026-01-20T00:00:00Z\n"
        "c,page_view,2026-02-05T00:00:00Z\n"
    )
    inputs = load_inputs(tmp_path / "c.csv", tmp_path / "e.csv")
    as_of = datetime(2026, 2, 10, tzinfo=UTC)
    snaps = matched_cutoffs(inputs, "converted_at", as_of)
    got = dict(zip(snaps.ids, snaps.cutoffs, strict=True))
    assert got["a"] == datetime(2026, 1, 11, tzinfo=UTC)
    assert abs(got["b"] - datetime(2025, 12, 27, tzinfo=UTC)) < timedelta(seconds=1)
    assert abs(got["c"] - datetime(2026, 1, 25, 6, tzinfo=UTC)) < timedelta(seconds=1)
    assert got["d"] > as_of  # no events: the whole history (events up to as_of)
    assert (snaps.timed, snaps.drawn, snaps.whole_history) == (1, 2, 1)
    config = F.plan(inputs, ["converted", "converted_at"], windows=(7,))
    _, table = F.build(inputs, config, as_of, "converted_at", snapshots=snaps)
    # c's second view (02-05) is after its drawn cut-off (01-25): not counted
    assert list(table["event:page_view"]) == [1, 1, 1, 0]


def test_unknown_snapshot_method_is_refused(neutral):
    with pytest.raises(DataError, match=r"unknown snapshot method 'later'.*matched, end"):
        load_dataset(*neutral, options("later"))


def test_retrain_measures_the_model_in_use_on_the_same_snapshots(tmp_path):
    from leadscore.predict.metrics import summary
    from leadscore.predict.retrain import compare, holdout_rows
    from leadscore.predict.table import take

    old_c, old_e = write_timing_neutral(tmp_path / "old", n=400, seed=1)
    current = train(old_c, old_e, options("matched")).save(tmp_path / "current")
    new_c, new_e = write_timing_neutral(tmp_path / "new", n=400, seed=2)
    result = compare(current, new_c, new_e)
    # the model in use, on the held-out contacts as the new model sees them: drawn
    # moments for those without an outcome time, not the end of the data
    data = load_dataset(new_c, new_e, options("matched"))
    in_use = TrainedModel.load(current)
    test, _ = holdout_rows(data.ids, data.y, set(in_use.training_ids), 0.2, 0)
    p = in_use.estimator.predict_proba(take(data.table, test))[:, 1]
    assert result.old == summary(data.y[test], p)


def test_cli_refuses_an_unknown_snapshot_method(neutral, tmp_path):
    from .test_cli import invoke

    contacts, events = neutral
    done = invoke(
        "train", "--contacts", contacts, "--events", events, "--outcome", "converted",
        "--outcome-time", "converted_at", "--snapshots", "later", "--out", tmp_path / "m",
    )  # fmt: skip
    assert done.returncode == 1
    assert "--snapshots must be one of matched, end, got 'later'" in done.stderr

"""`leadscore suggest`: the column screen, event rules, cross-validated AUC, thin data."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from leadscore.data.generate import generate
from leadscore.engine import score_contact
from leadscore.model import load_model
from leadscore.predict import Scorecard, TrainOptions, train
from leadscore.predict.screen import MAX_CATEGORIES, screen
from leadscore.predict.suggest import cross_validate
from leadscore.predict.training import load_dataset

from .test_cli import invoke


def test_screen_leaves_out_ids_names_contact_details_and_high_cardinality():
    n = 400
    rng = np.random.default_rng(0)
    table = {
        "account_id": [f"a{i % 90}" for i in range(n)],  # repeats, but an id by name
        "Lead Number": [str(660000 + i) for i in range(n)],  # a distinct integer per lead
        "last_name": [str(rng.choice([f"N{k}" for k in range(30)])) for _ in range(n)],
        "Email": [f"p{i}@x{i % 7}.com" for i in range(n)],
        "company": [f"Co {i % 120}" for i in range(n)],  # 120 names, 3-4 contacts each
        "notes": [""] * n,
        # kept: flags and ordinary categories, numbers, ids with a handful of values
        "Do Not Email": [str(rng.choice(["Yes", "No"])) for _ in range(n)],
        "country": [str(rng.choice(["FR", "US", "DE"])) for _ in range(n)],
        "visits": [str(int(v)) for v in rng.integers(0, 30, n)],
        "plan_id": [str(rng.choice(["1", "2", "3"])) for _ in range(n)],
        "industry": [f"i{i % MAX_CATEGORIES}" for i in range(n)],  # at the limit
        "event:page_view": np.zeros(n),  # event counts are not screened here
    }
    reasons = screen(table)
    assert set(reasons) == {"account_id", "Lead Number", "last_name", "Email", "company", "notes"}
    assert reasons["account_id"].startswith("an identifier by its name (90 distinct values)")
    assert reasons["Lead Number"].startswith("an identifier by its name (400 distinct")
    assert reasons["last_name"].startswith("a name (30 distinct values)")
    assert reasons["Email"].startswith("a contact detail (400 distinct values)")
    assert reasons["company"].startswith(
        f"high cardinality (120 distinct values, more than {MAX_CATEGORIES})"
    )
    assert reasons["notes"] == "always empty"
    assert "last_name" not in screen(table, keep=("last_name",))


EVENTS_TEXT = "contact_id,event_id,type,ts\n"


def _events_fixture(tmp_path, n=600, seed=3):
    """Demo requests drive conversion, e-mails are noise; conversion at the end."""
    rng = np.random.default_rng(seed)
    contacts = ["id,plan,converted"]
    events = [EVENTS_TEXT.strip()]
    eid = 0
    for i in range(n):
        demos = int(rng.poisson(1.2))
        mails = int(rng.poisson(3))
        plan = str(rng.choice(["a", "b"]))
        p = 1 / (1 + np.exp(-(-2.0 + 1.1 * min(demos, 3) + 0.8 * (plan == "a"))))
        contacts.append(f"c{i:04d},{plan},{int(rng.random() < p)}")
        for kind, count in (("demo_request", demos), ("email_open", mails)):
            for _ in range(count):
                eid += 1
                day = int(rng.integers(1, 60))
                events.append(
                    f"c{i:04d},e{eid},{kind},2026-01-{1 + day % 28:02d}T{day % 24:02d}:00:00Z"
                )
    (tmp_path / "c.csv").write_text("\n".join(contacts) + "\n")
    (tmp_path / "e.csv").write_text("\n".join(events) + "\n")
    return tmp_path / "c.csv", tmp_path / "e.csv"


def test_event_rules_are_learned_and_the_engine_gives_the_same_points(tmp_path):
    contacts, events = _events_fixture(tmp_path)
    as_of = datetime(2026, 2, 1, tzinfo=UTC)
    options = TrainOptions(outcome="converted", as_of=as_of.isoformat())
    data = load_dataset(contacts, events, options)
    card = Scorecard(max_rules=6).fit(data.table, data.y)
    demo = [t for t in card.events_ if t.type == "demo_request"]
    assert len(demo) == 1  # one window per type
    assert card.n_rules_ == len(card.bins_) + len(card.events_) <= 6
    model = load_model(card.to_yaml("ev"))
    rules = {r.name: r for _, r in model.rules()}
    written = rules[demo[0].name]
    i = card.events_.index(demo[0])
    assert written.points == card.event_points_[i] >= 1
    assert written.max_points == card.event_max_points_[i] >= written.points
    # scoring the written model gives every contact the points the scorecard fitted
    by_contact: dict[str, list] = {}
    with events.open() as fh:
        for row in csv.DictReader(fh):
            by_contact.setdefault(row["contact_id"], []).append(
                {"id": row["event_id"], "type": row["type"], "ts": row["ts"]}
            )
    with contacts.open() as fh:
        plans = {row["id"]: row["plan"] for row in csv.DictReader(fh)}
    engine = [
        score_contact(
            model, {"id": cid, "plan": plans[cid]}, by_contact.get(cid, []), as_of=as_of
        ).total
        for cid in data.ids
    ]
    assert engine == list(card.points(data.table))


def test_cross_validated_auc_in_the_same_folds(tmp_path):
    contacts, events = _events_fixture(tmp_path)
    data = load_dataset(contacts, events, TrainOptions(outcome="converted"))
    from leadscore.predict import LeadModel

    got = cross_validate(
        lambda: Scorecard(max_rules=4),
        lambda: LeadModel(max_rounds=60, early_stopping_rounds=20),
        data.table,
        data.y,
        folds=3,
    )
    assert len(got.scorecard) == len(got.trained) == 3
    assert all(0.6 < a < 1 for a in got.scorecard + got.trained)  # demos carry the signal
    assert got.describe().startswith("cross-validated AUC 0.")
    assert "(3 folds); leadscore train's model in the same folds: 0." in got.describe()


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return generate(1500, 1, tmp_path_factory.mktemp("suggest-gen"))


def test_suggest_on_generated_leads_screens_learns_event_rules_and_warns(generated, tmp_path):
    contacts, events = generated
    out = tmp_path / "s.yaml"
    done = invoke(
        "suggest",
        "--contacts",
        contacts,
        "--events",
        events,
        "--outcome",
        "converted",
        "--outcome-time",
        "converted_at",
        "--folds",
        "3",
        "--out",
        out,
    )
    assert done.returncode == 0, done.stderr
    flat = " ".join(done.stdout.split())
    for column in ("email", "first_name", "last_name", "company", "account_id", "created_at"):
        assert f"Left out {column!r}:" in flat
    assert "cross-validated AUC" in flat and "(3 folds)" in flat
    assert "Warning: thin data:" in flat
    model = load_model(out)
    rules = [r for _, r in model.rules()]
    props = {r.name for r in rules if getattr(r, "cases", None)}
    assert not props & {"email", "first_name", "last_name", "company", "account_id"}
    assert any(getattr(r, "max_points", None) for r in rules)  # event rules, capped
    text = out.read_text()
    assert "# Left out last_name: a name" in text and "# Ranking: cross-validated AUC" in text


def test_suggest_refuses_a_keep_that_names_no_column(generated, tmp_path):
    contacts, _ = generated
    done = invoke(
        "suggest", "--contacts", contacts, "--outcome", "converted", "--drop", "converted_at",
        "--keep", "surname", "--out", tmp_path / "s.yaml",
    )  # fmt: skip
    assert done.returncode == 1 and "--keep names no property: 'surname'" in done.stderr


def test_train_screens_the_same_columns_and_says_why(generated):
    contacts, events = generated
    options = TrainOptions(
        outcome="converted",
        outcome_time="converted_at",
        params={"max_rounds": 60, "early_stopping_rounds": 20},
    )
    model = train(contacts, events, options)
    left_out = model.card["data"]["left_out"]
    for column in ("email", "first_name", "last_name", "company", "account_id"):
        assert column in left_out
    assert left_out["last_name"].startswith("a name (")
    used = {f["column"] for f in model.card["top_features"]}
    assert not used & {"email", "first_name", "last_name", "company", "account_id"}
    assert "last_name" not in model.config.properties  # not even read at prediction
    kept = train(contacts, events, replace(options, keep=("last_name",)))
    assert "last_name" not in kept.card["data"]["left_out"]
    assert "last_name" in kept.estimator.feature_names_


def test_suggest_refuses_a_single_fold(generated, tmp_path):
    contacts, _ = generated
    done = invoke(
        "suggest", "--contacts", contacts, "--outcome", "converted", "--drop", "converted_at",
        "--folds", "1", "--out", tmp_path / "s.yaml",
    )  # fmt: skip
    assert done.returncode == 1
    assert "--folds must be 0 (no measure) or at least 2, got 1" in done.stderr
    assert not (tmp_path / "s.yaml").exists()


def test_suggest_refuses_events_that_are_the_outcome_in_disguise(synthetic, tmp_path):
    # a purchase is logged at each conversion: without --outcome-time it is counted
    contacts, events = synthetic
    args = ["suggest", "--contacts", contacts, "--events", events, "--outcome", "converted",
            "--drop", "converted_at", "--folds", "0", "--out", tmp_path / "s.yaml"]  # fmt: skip
    done = invoke(*args)
    assert done.returncode == 1
    assert "probable leakage: 'purchase events'" in done.stderr
    assert "give --outcome-time" in done.stderr and not (tmp_path / "s.yaml").exists()
    point_in_time = invoke(*args[:-6], "--outcome-time", "converted_at", *args[-4:])
    assert point_in_time.returncode == 0, point_in_time.stderr
    assert "purchase" not in (tmp_path / "s.yaml").read_text()

"""Backtests end to end on tiny files: point-in-time honesty, bad input, bootstrap."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leadscore.data.io import load_inputs
from leadscore.errors import DataError, UsageError
from leadscore.evaluate import Options, run_backtest
from leadscore.evaluate.outcomes import properties_read
from leadscore.model import load_model

from .helpers import LEAK_CONTACTS, LEAK_EVENTS, LEAKY_MODEL, write_csv, write_model


@pytest.fixture
def leak_files(tmp_path):
    return (
        write_csv(tmp_path / "contacts.csv", LEAK_CONTACTS),
        write_csv(tmp_path / "events.csv", LEAK_EVENTS),
        write_model(tmp_path / "leaky.yaml", LEAKY_MODEL),
    )


@pytest.mark.parametrize("engine", ["sql", "inprocess"])
def test_post_outcome_events_do_not_make_a_model_look_better(leak_files, engine):
    contacts, events, model_path = leak_files
    model = load_model(model_path)
    opts = Options(resamples=0)
    honest = run_backtest(
        [model],
        load_inputs(contacts, events),
        outcome="won",
        outcome_time="won_at",
        as_of=None,
        options=opts,
        engine=engine,
    )
    # Scored just before 2026-03-10 09:00, no converter has its onboarding form yet
    # (c4's form is at the very outcome time, so it does not count either): everyone
    # has 5 points and the model cannot tell converters apart.
    assert honest.population.scored["leaky"].total.tolist() == [5.0] * 8
    assert honest.variants[0].auc == 0.5
    assert honest.outcome.with_time == 4
    # Without the outcome time, the forms filled after converting leak into the score.
    leaky = run_backtest(
        [model], load_inputs(contacts, events), outcome="won", options=opts, engine=engine
    )
    assert leaky.variants[0].auc == 1.0
    assert any("no --outcome-time" in w for w in leaky.warnings)
    # … unless the cut-off is set before the outcomes.
    cut = run_backtest(
        [model],
        load_inputs(contacts, events),
        outcome="won",
        as_of=datetime(2026, 3, 5, tzinfo=UTC),
        options=opts,
        engine=engine,
    )
    assert cut.variants[0].auc == 0.5


def test_rule_diagnostics_flag_rules_that_do_nothing(leak_files):
    contacts, events, model_path = leak_files
    bt = run_backtest(
        [load_model(model_path)],
        load_inputs(contacts, events),
        outcome="won",
        options=Options(resamples=0),
    )
    rules = {r.rule: r for r in bt.variants[0].rules}
    form, page = rules["Onboarding form"], rules["Any page"]
    assert (form.fires_on, form.conversion_with, form.conversion_without) == (4, 1.0, 0.0)
    assert form.auc_without == 0.5 and form.auc_effect == 0.5
    assert page.fires_on == 8 and "fires on everyone" in page.flags
    assert "no effect on ranking" in page.flags
    # MQL = total ≥ 50: exactly the four converters
    mql = bt.variants[0].mql
    assert (mql.volume, mql.precision, mql.recall) == (4, 1.0, 1.0)


def test_a_rule_that_hurts_is_flagged(tmp_path):
    contacts = write_csv(
        tmp_path / "c.csv",
        [
            {
                "id": f"c{i}",
                "won": str(int(i < 5)),
                "student": "yes" if i < 3 else "no",
                "big": "yes" if i in (0, 1, 2, 3, 5) else "no",
            }
            for i in range(10)
        ],
    )
    model = write_model(
        tmp_path / "m.yaml",
        """
name: m
scale: {min: -100, max: 100}
groups:
  fit:
    rules:
      - {name: Big company, when: {big: "yes"}, points: 20}
      - {name: Students, when: {student: "yes"}, points: -30}
""",
    )
    bt = run_backtest(
        [load_model(model)], load_inputs(contacts), outcome="won", options=Options(resamples=0)
    )
    rules = {r.rule: r for r in bt.variants[0].rules}
    # Students (all converters) lose 30 points: without that rule the ranking improves.
    # Totals −10 ×3 (converters), 20 (c3 converter, c5 not), 0 for the rest: AUC 6.5/25;
    # without Students 20/25, without Big company 5/25.
    assert bt.variants[0].auc == pytest.approx(6.5 / 25)
    assert rules["Students"].auc_effect == pytest.approx(6.5 / 25 - 20 / 25)
    assert rules["Big company"].auc_effect == pytest.approx(6.5 / 25 - 5 / 25)
    assert "hurts: AUC rises without it" in rules["Students"].flags
    assert any(f.startswith("points against the data") for f in rules["Students"].flags)
    assert rules["Big company"].flags == ()


def _backtest(tmp_path, rows, **kw):
    contacts = write_csv(tmp_path / "c.csv", rows)
    rule = {"name": "r", "when": {"x": "1"}, "points": 10}
    model = load_model({"name": "m", "groups": {"fit": {"rules": [rule]}}})
    return run_backtest([model], load_inputs(contacts), options=Options(resamples=0), **kw)


def test_missing_outcome_column_names_the_columns(tmp_path):
    with pytest.raises(DataError, match=r"no outcome column 'Converted'.*are: won, x"):
        _backtest(tmp_path, [{"id": "a", "won": "1", "x": "1"}], outcome="Converted")


def test_non_binary_outcome_is_refused(tmp_path):
    rows = [{"id": "a", "won": "1", "x": "1"}, {"id": "b", "won": "maybe", "x": ""}]
    with pytest.raises(DataError, match="not yes/no: 'maybe'"):
        _backtest(tmp_path, rows, outcome="won")


def test_one_class_only_is_refused(tmp_path):
    rows = [{"id": "a", "won": "yes", "x": "1"}, {"id": "b", "won": "true", "x": ""}]
    with pytest.raises(DataError, match="every contact with an outcome converted"):
        _backtest(tmp_path, rows, outcome="won")


def test_unknown_outcomes_are_left_out_and_said(tmp_path):
    rows = [
        {"id": "a", "won": "1", "x": "1"},
        {"id": "b", "won": "0", "x": ""},
        {"id": "c", "won": "", "x": "1"},
    ]
    bt = _backtest(tmp_path, rows, outcome="won")
    assert bt.population.ids == ["a", "b"]
    assert any("1 contact(s) have no outcome" in w for w in bt.warnings)


def test_unreadable_outcome_time_is_refused(tmp_path):
    rows = [
        {"id": "a", "won": "1", "at": "last tuesday", "x": "1"},
        {"id": "b", "won": "0", "at": "", "x": ""},
    ]
    with pytest.raises(DataError, match="outcome times that cannot be read: a: 'last tuesday'"):
        _backtest(tmp_path, rows, outcome="won", outcome_time="at")


def test_a_model_reading_the_outcome_gets_a_warning(tmp_path):
    contacts = write_csv(tmp_path / "c.csv", [{"id": "a", "won": "1"}, {"id": "b", "won": "0"}])
    model = load_model(
        {
            "name": "cheat",
            "groups": {"g": {"rules": [{"name": "r", "when": {"won": "1"}, "points": 10}]}},
        }
    )
    assert properties_read(model) == {"won"}
    bt = run_backtest([model], load_inputs(contacts), outcome="won", options=Options(resamples=0))
    assert any("reads the outcome column" in w for w in bt.warnings)


def test_bad_options_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="target-precision"):
        Options(target_precision=1.5).check()
    with pytest.raises(UsageError, match="at least one model"):
        run_backtest([], None, outcome="won")


def test_bootstrap_is_seeded_and_paired(tmp_path):
    rows = [
        {
            "id": f"c{i:02d}",
            "won": str(int(i % 3 == 0)),
            "x": "1" if i % 2 == 0 else "0",
            "z": "1" if i % 3 == 0 or i % 5 == 0 else "0",
        }
        for i in range(60)
    ]
    contacts = write_csv(tmp_path / "c.csv", rows)

    def model(name, field):
        return load_model(
            {
                "name": name,
                "groups": {"g": {"rules": [{"name": "r", "when": {field: "1"}, "points": 10}]}},
            }
        )

    models = [model("A", "x"), model("B", "z"), model("A2", "x")]
    opts = Options(resamples=50, seed=3)
    one = run_backtest(models, load_inputs(contacts), outcome="won", options=opts).bootstrap
    two = run_backtest(models, load_inputs(contacts), outcome="won", options=opts).bootstrap
    assert one.auc["B"] == two.auc["B"]  # same seed, same intervals
    assert one.auc["A"].low <= one.auc["A"].estimate <= one.auc["A"].high
    # A2 is A: the paired difference is exactly zero in every resample.
    assert (one.auc_diff["A2"].low, one.auc_diff["A2"].high) == (0.0, 0.0)
    # B fires on every converter: clearly better, and the interval says so.
    assert one.auc_diff["B"].low > 0 and one.auc_diff["B"].b_ahead == 1.0
    assert one.auc_diff["B"].estimate == pytest.approx(
        one.auc["B"].estimate - one.auc["A"].estimate
    )


def test_records_in_memory_give_the_same_backtest_as_files(leak_files):
    from leadscore.evaluate.records import inputs_from_records

    contacts, events, model_path = leak_files
    model = load_model(model_path)
    opts = Options(resamples=0)
    from_files = run_backtest(
        [model], load_inputs(contacts, events), outcome="won", outcome_time="won_at", options=opts
    )
    from_rows = run_backtest(
        [model],
        inputs_from_records(LEAK_CONTACTS, LEAK_EVENTS),
        outcome="won",
        outcome_time="won_at",
        options=opts,
    )
    assert from_rows.population.ids == from_files.population.ids
    assert (
        from_rows.population.scored["leaky"].total.tolist()
        == from_files.population.scored["leaky"].total.tolist()
    )
    assert from_rows.outcome.cutoff == from_files.outcome.cutoff

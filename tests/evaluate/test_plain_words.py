"""The backtest's first sentences, from hand-computed figures."""

from __future__ import annotations

from leadscore.evaluate.bootstrap import Difference
from leadscore.evaluate.summary import comparison_sentence, confidence_word, converters_sentence


def test_converters_in_the_top_share_are_counted_and_rounded_for_people():
    # 12.6 of 40 converters (ties shared) in the top 10 %: 13, i.e. 32 %
    assert converters_sentence("v2", 0.1, 12.6, 40) == (
        "v2 puts 13 of the 40 converters (32%) in its top 10% of contacts."
    )
    assert converters_sentence("v1", 0.2, 1200, 4000) == (
        "v1 puts 1,200 of the 4,000 converters (30%) in its top 20% of contacts."
    )


def test_no_converters_says_the_backtest_cannot_tell():
    text = converters_sentence("v2", 0.1, 0, 0)
    assert text.startswith("No contact converted") and "%" not in text


def test_more_converters_with_an_interval_above_zero_is_confident():
    # 57 against 50: (57 − 50) / 50 = 14 % more
    text = comparison_sentence("v1", "v2", 0.1, 50, 57, Difference(0.3, 0.1, 0.5, 0.99))
    assert text.startswith("v2 finds 14% more converters in its top 10% than v1 — confident")


def test_fewer_converters_with_an_interval_below_zero_is_confident():
    # 40 against 50: 20 % fewer
    text = comparison_sentence("v1", "v2", 0.1, 50, 40, Difference(-0.4, -0.7, -0.1, 0.0))
    assert text.startswith("v2 finds 20% fewer converters in its top 10% than v1 — confident")


def test_an_interval_crossing_zero_is_not_yet_clear():
    # 55 against 50: 10 % more, but the interval runs from below zero to above it
    text = comparison_sentence("v1", "v2", 0.1, 50, 55, Difference(0.2, -0.1, 0.5, 0.8))
    assert text.startswith("v2 finds 10% more converters in its top 10% than v1 — not yet clear")
    assert "confident" not in text


def test_equal_counts_are_as_many():
    text = comparison_sentence("v1", "v2", 0.1, 30, 30, Difference(0.0, -0.2, 0.2, 0.4))
    assert text.startswith("v2 finds as many converters in its top 10% as v1 — not yet clear")
    # 100.4 against 100: 0.4 % rounds to nothing, said as "about as many"
    near = comparison_sentence("v1", "v2", 0.1, 100, 100.4, None)
    assert near == "v2 finds about as many converters in its top 10% as v1."


def test_no_converters_for_the_first_model_or_for_either():
    assert comparison_sentence("v1", "v2", 0.1, 0, 3, None) == (
        "v2 finds 3 converter(s) in its top 10%, v1 none."
    )
    assert comparison_sentence("v1", "v2", 0.1, 0, 0, None).startswith("Neither v2 nor v1")


def test_confidence_comes_from_the_interval_alone():
    assert confidence_word(Difference(0.1, 0.01, 0.2)) == "confident"
    assert confidence_word(Difference(-0.1, -0.2, -0.01)) == "confident"
    assert confidence_word(Difference(0.1, 0.0, 0.2)) == "not yet clear"  # touches zero
    assert confidence_word(Difference(0.0, float("nan"), float("nan"))) is None
    assert confidence_word(None) is None


def test_a_backtest_of_two_models_reads_its_own_figures(tmp_path):
    from leadscore.data.io import load_inputs
    from leadscore.evaluate import Options, run_backtest
    from leadscore.evaluate.summary import plain_words
    from leadscore.model import load_model

    from .helpers import write_csv

    # 60 contacts, every third converts: 20 converters. A scores the 30 even ones
    # (10 of them converters), B the 28 multiples of 3 or 5 (all 20 converters).
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
        rule = {"name": "r", "when": {field: "1"}, "points": 10}
        return load_model({"name": name, "groups": {"g": {"rules": [rule]}}})

    bt = run_backtest(
        [model("A", "x"), model("B", "z")],
        load_inputs(contacts),
        outcome="won",
        options=Options(resamples=50, seed=3),
    )
    # The top 10 % is 6 contacts, tied among the scored ones: A finds 6/30 × 10 = 2
    # converters there, B 6/28 × 20 = 4.29, i.e. 114 % more.
    assert bt.bootstrap is not None and bt.bootstrap.lift_diff["B"].low > 0
    assert plain_words(bt) == [
        "B puts 4 of the 20 converters (21%) in its top 10% of contacts.",
        "B finds 114% more converters in its top 10% than A — confident: "
        "the difference holds across the resamples.",
    ]
    # A single model: the first sentence alone, and without resamples no confidence word.
    alone = run_backtest(
        [model("A", "x")], load_inputs(contacts), outcome="won", options=Options(resamples=0)
    )
    assert plain_words(alone) == ["A puts 2 of the 20 converters (10%) in its top 10% of contacts."]

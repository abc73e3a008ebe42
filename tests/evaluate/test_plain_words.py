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

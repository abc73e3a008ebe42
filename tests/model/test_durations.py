import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadscore.model.durations import DurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    "text,seconds",
    [
        ("30s", 30),
        ("5m", 300),
        ("12h", 43200),
        ("30d", 2592000),
        ("2w", 1209600),
        ("1w3d", 864000),
        ("1d 12h", 129600),
    ],
)
def test_reads_each_unit(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("3 months", "months and years vary"),
        ("1y", "months and years vary"),
        ("30", "write a number followed by"),
        ("d30", "write a number followed by"),
        ("0d", "longer than zero"),
        ("1d2d", "appears twice"),
        ("", "cannot read"),
        (30, "expected a duration"),
    ],
)
def test_bad_durations_say_how_to_fix(text, fragment):
    with pytest.raises(DurationError, match=fragment):
        parse_duration(text)


def test_format_prefers_one_unit():
    assert format_duration(2592000) == "30d"
    assert format_duration(1209600) == "2w"
    assert format_duration(129600) == "36h"
    assert format_duration(90061) == "1d1h1m1s"


@given(st.integers(min_value=1, max_value=10**9))
def test_format_then_parse_round_trips(seconds):
    assert parse_duration(format_duration(seconds)) == seconds

"""OpenSLO duration shorthand: strict parsing and round trips."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seclo.slo.duration import Duration, parse_duration

UNITS = st.sampled_from(["m", "h", "d", "w", "M", "Q", "Y"])


@given(count=st.integers(min_value=1, max_value=999_999), unit=UNITS)
def test_duration_round_trips(count: int, unit: str) -> None:
    """Writing a parsed duration back gives the same text, and parsing that gives the same duration."""
    text = f"{count}{unit}"
    parsed = parse_duration(text)
    assert str(parsed) == text
    assert parse_duration(str(parsed)) == parsed


@given(st.text(max_size=12))
def test_random_text_is_parsed_or_refused_with_a_reason(text: str) -> None:
    """Arbitrary text either parses to a duration that prints back as itself or raises ValueError saying why."""
    if re.fullmatch(r"[1-9][0-9]{0,5}[mhdwMQY]", text):
        assert str(parse_duration(text)) == text
    else:
        with pytest.raises(ValueError, match="expected a duration"):
            parse_duration(text)


@pytest.mark.parametrize(
    "text", ["", "0m", "05m", "-1h", "1.5h", "1 h", " 1h", "1h ", "1hh", "h", "1s", "1D", "10000000d"]
)
def test_garbage_is_refused(text: str) -> None:
    """Zero, signs, decimals, spaces, unknown units and overlong numbers are refused."""
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(text)


def test_minutes_and_months_differ_by_case() -> None:
    """1m is one minute and 1M one calendar month, as OpenSLO specifies."""
    assert parse_duration("1m").to_timedelta() == timedelta(minutes=1)
    month = parse_duration("1M")
    assert month.is_calendar
    assert month.months == 1
    assert parse_duration("2Q").months == 6
    assert parse_duration("1Y").months == 12


def test_calendar_duration_has_no_fixed_length() -> None:
    """Asking a calendar duration for a timedelta is an error, not a guess such as 30 days."""
    with pytest.raises(ValueError, match="calendar"):
        Duration(1, "M").to_timedelta()


def test_fixed_units_have_their_length() -> None:
    """Hours, days and weeks convert to the matching timedelta."""
    assert parse_duration("1h").to_timedelta() == timedelta(hours=1)
    assert parse_duration("28d").to_timedelta() == timedelta(days=28)
    assert parse_duration("2w").to_timedelta() == timedelta(days=14)

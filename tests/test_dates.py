from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from searchidx.inputs.dates import parse_date

MARCH_20 = datetime(2015, 3, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "March 20, 2015",
        "20 March 2015",
        "Mar. 20, 2015",
        "Mar 20 2015",
        "2015-03-20",
        "20.03.2015",
        "Friday, March 20, 2015",
        "Fri, 20 March 2015",
        "20th of March, 2015",
        "march 20, 2015",
        "  March 20, 2015  ",
    ],
)
def test_date_forms_give_the_day_at_midnight_utc(text: str) -> None:
    assert parse_date(text) == MARCH_20


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("March 20, 2015 10:30", datetime(2015, 3, 20, 10, 30, tzinfo=UTC)),
        ("Friday, March 20, 2015, 10:30 PM", datetime(2015, 3, 20, 22, 30, tzinfo=UTC)),
        ("March 20, 2015 at 10:30 a.m. EST", datetime(2015, 3, 20, 15, 30, tzinfo=UTC)),
        ("20 March 2015 14:05 GMT", datetime(2015, 3, 20, 14, 5, tzinfo=UTC)),
        ("20.03.2015 14:05", datetime(2015, 3, 20, 14, 5, tzinfo=UTC)),
        ("2015-03-20T10:30:00Z", datetime(2015, 3, 20, 10, 30, tzinfo=UTC)),
        ("2015-03-20T10:30:00+03:00", datetime(2015, 3, 20, 7, 30, tzinfo=UTC)),
        ("2015-03-20 23:30-0500", datetime(2015, 3, 21, 4, 30, tzinfo=UTC)),
        ("Fri, 20 Mar 2015 10:30:00 +0300", datetime(2015, 3, 20, 7, 30, tzinfo=UTC)),
        ("March 20, 2015 10:30 GMT+3", datetime(2015, 3, 20, 7, 30, tzinfo=UTC)),
        ("March 20, 2015 10:30 XYZ", datetime(2015, 3, 20, 10, 30, tzinfo=UTC)),
    ],
)
def test_times_and_zones_are_converted_to_utc(text: str, expected: datetime) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello world",
        "March 32, 2015",
        "Smarch 20, 2015",
        "31.02.2015",
        "March 20, 2015 was the day the news broke",
        "Updated March 20, 2015 by staff",
        "1750-01-01",
    ],
)
def test_what_is_not_a_date_gives_none(text: str) -> None:
    assert parse_date(text) is None


def test_dates_far_in_the_future_are_rejected() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_date("2026-06-01", now=now) is not None
    assert parse_date("2031-06-01", now=now) is None


@given(st.text(max_size=60))
def test_any_text_parses_to_none_or_an_aware_utc_datetime(text: str) -> None:
    parsed = parse_date(text)
    assert parsed is None or (parsed.utcoffset() is not None and parsed.utcoffset().total_seconds() == 0)

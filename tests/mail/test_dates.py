"""Dates: RFC 5322 then lenient parsing, clamped to [1990, now + 1 day], else reception time."""
from datetime import datetime, timedelta, timezone

import pytest

from forumsync.mail.dates import message_date, parse_date

UTC = timezone.utc
NOW = datetime(2024, 4, 1, 12, 0, tzinfo=UTC)
RECEIVED = datetime(2024, 3, 30, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("value, expected", [
    ("Tue, 12 Mar 2024 10:02:37 +0000", datetime(2024, 3, 12, 10, 2, 37, tzinfo=UTC)),
    ("Tue, 12 Mar 2024 11:02:37 +0100 (CET)", datetime(2024, 3, 12, 10, 2, 37, tzinfo=UTC)),
    ("12 Mar 2024 10:02:37", datetime(2024, 3, 12, 10, 2, 37, tzinfo=UTC)),  # no zone: UTC
    ("mardi 12 mars 2024 10:02", datetime(2024, 3, 12, 10, 2, tzinfo=UTC)),
    ("mar. 12 mars 2024 10:02:37 +0100", datetime(2024, 3, 12, 9, 2, 37, tzinfo=UTC)),
    ("12/03/2024 10:02", datetime(2024, 3, 12, 10, 2, tzinfo=UTC)),
    ("2024-03-12T10:02:37+01:00", datetime(2024, 3, 12, 9, 2, 37, tzinfo=UTC)),
    ("", None), ("n'importe quoi", None),
])
def test_parse_date(value, expected):
    assert parse_date(value) == expected


@pytest.mark.parametrize("value", ["Mon, 1 Jan 1970 00:00:00 +0000", "Sat, 1 Jan 2099 00:00:00 +0000",
                                   "Tue, 2 Apr 2024 13:00:00 +0000", "", "garbage"])
def test_implausible_dates_fall_back_to_reception(value):
    assert message_date(value, RECEIVED, now=NOW) == RECEIVED


def test_within_a_day_ahead_is_accepted():
    soon = NOW + timedelta(hours=20)
    assert message_date(soon.strftime("%a, %d %b %Y %H:%M:%S +0000"), RECEIVED, now=NOW) == soon


def test_naive_fallback_and_no_fallback():
    naive = datetime(2024, 3, 30, 8, 0)
    assert message_date("", naive, now=NOW) == RECEIVED
    assert message_date("", None, now=NOW) == NOW

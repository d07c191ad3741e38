"""The date a mail was written: Date header, leniently parsed, clamped to plausible values."""
from __future__ import annotations

import email.utils
from datetime import datetime, timedelta, timezone

from dateutil import parser as dateutil_parser

EARLIEST = datetime(1990, 1, 1, tzinfo=timezone.utc)


def parse_date(value: str) -> datetime | None:
    """Aware UTC datetime of a Date header value (RFC 5322 first, then dateutil), or None."""
    if not value:
        return None
    parsed = None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        try:
            parsed = dateutil_parser.parse(value, fuzzy=True)
        except (ValueError, OverflowError, TypeError, dateutil_parser.ParserError):
            return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        return parsed.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None


def message_date(value: str, fallback: datetime | None = None, now: datetime | None = None) -> datetime:
    """Date header within [1990, now + 1 day]; else FALLBACK (the reception time); else now."""
    now = now or datetime.now(timezone.utc)
    if fallback is not None and fallback.tzinfo is None:
        fallback = fallback.replace(tzinfo=timezone.utc)
    parsed = parse_date(value)
    if parsed is not None and EARLIEST <= parsed <= now + timedelta(days=1):
        return parsed
    return fallback or now

"""Stored moments read back: the database keeps naive UTC (``models.utcnow``), some listings
hand over ISO text; both the command line (``commands.clock``) and the dashboard
(``web.dates``) show them in a time zone, from one reading."""
from __future__ import annotations

from datetime import datetime, timezone


def aware_utc(value):
    """VALUE (a datetime, naive meaning UTC, or its ISO text) as an aware datetime; None when
    empty; the text itself when it is no ISO date (shown as it is)."""
    if not value:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value

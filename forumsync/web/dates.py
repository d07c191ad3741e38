"""Dates as a French operator reads them: Paris time.

The database stores naive UTC (``models.utcnow``). The dashboard showed those as they are,
« 01/07/2026 10:00 » for noon in Paris, and one day off near midnight in winter (red team,
twenty-fifth pass).
"""
from __future__ import annotations

from datetime import timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..moments import aware_utc

try:
    PARIS = ZoneInfo("Europe/Paris")
except ZoneInfoNotFoundError:  # no time zone database: said in UTC, never shown as local
    PARIS = None


def paris_time(value) -> str:
    """VALUE (a datetime, naive meaning UTC, or its ISO text) as « 01/07/2026 12:00 », in Paris
    time; « — » when empty."""
    value = aware_utc(value)
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if PARIS is None:
        return value.astimezone(timezone.utc).strftime("%d/%m/%Y %H:%M UTC")
    return value.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")

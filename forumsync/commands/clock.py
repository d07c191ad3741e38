"""Moments as the operator's clock reads them: every command in the machine's local time.

The database keeps UTC; `inbox` showed local time while `events`, `outbox` and `catalogue`
printed the stored UTC unmarked, an hour apart (two in summer) for the same moment.
"""
from __future__ import annotations

from datetime import datetime, timezone


def local_time(moment, fmt: str = "%Y-%m-%d %H:%M", missing: str = "—") -> str:
    """MOMENT (an aware or naive-UTC datetime, or its ISO text) in local time; MISSING if none."""
    if not moment:
        return missing
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return moment
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone().strftime(fmt)

"""Moments as the operator's clock reads them: every command in the machine's local time.

The database keeps UTC; `inbox` showed local time while `events`, `outbox` and `catalogue`
printed the stored UTC unmarked, an hour apart (two in summer) for the same moment.
"""
from __future__ import annotations

from ..moments import aware_utc


def local_time(moment, fmt: str = "%Y-%m-%d %H:%M", missing: str = "—") -> str:
    """MOMENT (an aware or naive-UTC datetime, or its ISO text) in local time; MISSING if none."""
    moment = aware_utc(moment)
    if moment is None:
        return missing
    return moment if isinstance(moment, str) else moment.astimezone().strftime(fmt)

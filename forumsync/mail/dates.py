"""The date a mail was written: Date header, leniently parsed, clamped to plausible values."""
from __future__ import annotations

import email.utils
import re
from datetime import datetime, timedelta, timezone

from dateutil import parser as dateutil_parser

EARLIEST = datetime(1990, 1, 1, tzinfo=timezone.utc)
_FRENCH_MONTHS = {"janvier": "jan", "janv": "jan", "février": "feb", "fevrier": "feb", "févr": "feb",
                  "mars": "mar", "avril": "apr", "avr": "apr", "mai": "may", "juin": "jun",
                  "juillet": "jul", "juil": "jul", "août": "aug", "aout": "aug",
                  "septembre": "sep", "sept": "sep", "octobre": "oct", "novembre": "nov",
                  "décembre": "dec", "decembre": "dec", "déc": "dec"}
_FRENCH_DAYS = re.compile(r"\b(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\b\.?,?"
                          r"|\b(?:lun|mar|mer|jeu|ven|sam|dim)[.,]", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def _anglicise(value: str) -> str:
    """« mardi 12 mars 2024 » → « 12 mar 2024 » for dateutil (French clients, hand-made dates)."""
    value = _FRENCH_DAYS.sub(" ", value)
    return _WORD.sub(lambda m: _FRENCH_MONTHS.get(m.group(0).lower(), m.group(0)), value)


def parse_date(value: str) -> datetime | None:
    """Aware UTC datetime of a Date header value (RFC 5322 first, then dateutil), or None."""
    if not value:
        return None
    parsed = None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        try:
            parsed = dateutil_parser.parse(_anglicise(value),
                                           dayfirst=not re.match(r"\s*\d{4}", value))
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

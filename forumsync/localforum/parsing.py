"""Values the API receives as text: timestamps and titles turned into Discourse's forms."""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timezone

from .errors import invalid


def parse_time(value) -> datetime | None:
    """created_at from the API (ISO 8601, naive = UTC) → naive UTC datetime."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        from dateutil import parser

        try:
            parsed = parser.isoparse(str(value))
        except (ValueError, OverflowError):
            raise invalid("created_at is invalid") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


def slugify(text: str) -> str:
    """Discourse's ASCII slugs ("Été à Lyon" → "ete-a-lyon"); "topic" when nothing is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:80].strip("-") or "topic"


"""Declarative base shared by every model, and small column helpers."""
import re
from datetime import datetime, timezone

from sqlalchemy import DateTime, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both SQLite (which drops tzinfo) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                value = value.replace(tzinfo=timezone.utc)
            value = value.astimezone(timezone.utc)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


# What PostgreSQL refuses in text (NUL) and what neither driver can encode (lone surrogates,
# which Python's utf-7 or unicode_escape decoders return): both come from mail, written by
# whoever sent it (red team, tenth pass: one encoded word made every channel answer "try
# again later" for ever).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: str, length: int | None = None) -> str:
    """VALUE as both databases store it: NUL and lone surrogates as U+FFFD, cut to LENGTH."""
    if _UNSTORABLE.search(value):
        value = _UNSTORABLE.sub("\ufffd", value)
    if length is not None and len(value) > length:
        value = value[:length]
    return value


class CleanString(TypeDecorator):
    """``String(n)`` whose values are stored alike on SQLite and PostgreSQL: ``storable``,
    cut to the column's length (PostgreSQL refuses a longer value, SQLite keeps it whole).
    Applied to query parameters too, so a lookup finds what was stored."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return storable(value, self.impl.length) if isinstance(value, str) else value


class CleanText(CleanString):
    """``Text``, stored as ``CleanString`` stores (no length)."""

    impl = Text
    cache_ok = True


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    })

"""StateValue: small named facts that must survive restarts (heartbeats, cursors, last sync)."""
from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, CleanString, UTCDateTime, utcnow


class StateValue(Base):
    __tablename__ = "state_value"

    key: Mapped[str] = mapped_column(CleanString(200), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


def get_state(session, key: str, default=None):
    row = session.get(StateValue, key)
    return row.value if row is not None else default


def set_state(session, key: str, value) -> None:
    row = session.get(StateValue, key)
    if row is None:
        session.add(StateValue(key=key, value=value, updated_at=utcnow()))
    else:
        row.value = value
        row.updated_at = utcnow()

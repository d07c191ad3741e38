"""Subscriber: a list member seen by a subscriber source (Mailman 3 roster, CSV file)."""
from datetime import datetime

from sqlalchemy import Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, CleanString, UTCDateTime, utcnow

# States: subscribed, unsubscribed. Welcome: "baseline" (already there at the first run, never
# welcomed), "pending" (new, not welcomed yet), "welcomed", "failed" (refused by the forum).
SUBSCRIBER_STATES = ("subscribed", "unsubscribed")


class Subscriber(Base):
    __tablename__ = "subscriber"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(CleanString(100))     # name of the SUBSCRIBER_SOURCES entry
    email: Mapped[str] = mapped_column(CleanString(320))      # lower-cased
    name: Mapped[str] = mapped_column(CleanString(300), default="")
    state: Mapped[str] = mapped_column(CleanString(16), default="subscribed")
    welcome: Mapped[str] = mapped_column(CleanString(16), default="pending")
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    subscribed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    welcomed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    topic_id: Mapped[int | None] = mapped_column(Integer, nullable=True)   # « Présentations » topic
    digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # listed in a weekly message

    __table_args__ = (UniqueConstraint("source", "email", name="uq_subscriber_source_email"),)

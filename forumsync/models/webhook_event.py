"""WebhookEvent: a Discourse webhook event, stored once whatever its delivery id (retries)."""
from datetime import datetime

from sqlalchemy import Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, CleanString, CleanText, UTCDateTime, utcnow


class WebhookEvent(Base):
    __tablename__ = "webhook_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # "<instance>#<X-Discourse-Event-Id>" so two forums cannot collide.
    delivery_id: Mapped[str] = mapped_column(CleanString(300), unique=True)
    # The event itself ("<instance>#<event>:<type>:<id>:<version/updated_at>:<body digest>"):
    # Discourse retries a delivery under a new X-Discourse-Event-Id, so this is the dedupe key.
    event_key: Mapped[str | None] = mapped_column(CleanString(300), nullable=True)
    event: Mapped[str] = mapped_column(CleanString(64))        # post_created, topic_edited…
    event_type: Mapped[str] = mapped_column(CleanString(32))   # post, topic…
    payload: Mapped[str] = mapped_column(CleanText)            # the raw JSON body
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(CleanString(16), default="new")  # new, done, skipped, failed, retry
    reason: Mapped[str] = mapped_column(CleanText, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Claims that ended with the worker dead while this event was (or may have been) in hand
    # (queues.Queue.claim; forum/events.py sets it aside after queues.INTERRUPTED_MAX).
    interrupted: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    locked_by: Mapped[str | None] = mapped_column(CleanString(64), nullable=True)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (Index("ix_webhook_event_state", "state"),
                      Index("uq_webhook_event_event_key", "event_key", unique=True))

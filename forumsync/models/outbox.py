"""OutboxMail: an email waiting to be handed to the list's mail server, retried until it is."""
from datetime import datetime

from sqlalchemy import JSON, Index, Integer, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, CleanString, CleanText, UTCDateTime, utcnow

OUTBOX_STATES = ("pending", "sending", "sent", "failed", "dropped")


class OutboxMail(Base):
    __tablename__ = "outbox_mail"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Idempotency key, e.g. "post:123" or "welcome:42": a key is only ever sent once.
    key: Mapped[str] = mapped_column(CleanString(200), unique=True)
    message_id: Mapped[str] = mapped_column(CleanString(998))
    sender: Mapped[str] = mapped_column(CleanString(998))
    recipients: Mapped[list] = mapped_column(JSON)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    subject: Mapped[str] = mapped_column(CleanText, default="")
    state: Mapped[str] = mapped_column(CleanString(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Claims that ended with the worker dead while this mail was (or may have been) in hand
    # (queues.Queue.claim; outbound/outbox.py sets it aside after queues.INTERRUPTED_MAX).
    interrupted: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str] = mapped_column(CleanText, default="")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    locked_by: Mapped[str | None] = mapped_column(CleanString(64), nullable=True)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (Index("ix_outbox_mail_state_next", "state", "next_attempt_at"),)

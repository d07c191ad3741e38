"""InboxMessage: one inbound email, stored raw before its sender is acknowledged."""
from datetime import datetime

from sqlalchemy import JSON, Index, Integer
from sqlalchemy.ext.associationproxy import AssociationProxy, association_proxy
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, CleanString, CleanText, UTCDateTime, utcnow
from .inbox_raw import InboxRaw

# States: new → processing → published | dropped | quarantined; retry waits for next_attempt_at.
INBOX_STATES = ("new", "processing", "retry", "published", "dropped", "quarantined")


class InboxMessage(Base):
    __tablename__ = "inbox_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Normalised Message-ID (without <>), or "sha256:<hex>" when the mail had none.
    message_id: Mapped[str] = mapped_column(CleanString(998), unique=True)
    channel: Mapped[str] = mapped_column(CleanString(32))  # lmtp, http, stdin, mbox, mailman
    size: Mapped[int] = mapped_column(Integer, default=0)
    subject: Mapped[str] = mapped_column(CleanText, default="")
    sender: Mapped[str] = mapped_column(CleanString(998), default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(CleanString(16), default="new")
    reason: Mapped[str] = mapped_column(CleanText, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Claims of this row that ended with its worker dead while it was (or may have been) the
    # message in hand (queues.Queue.claim, pipeline/runner.py: set aside after INTERRUPTED_MAX).
    interrupted: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    locked_by: Mapped[str | None] = mapped_column(CleanString(64), nullable=True)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    topic_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    post_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Channel-specific facts (mbox path and offset, LMTP recipients…).
    meta: Mapped[dict] = mapped_column(JSON, default=dict)

    # The raw bytes live in their own table (inbox_raw, see InboxRaw), out of the row every state
    # change rewrites. ``raw`` reads and sets them; loaded with the row (a joined load) so that
    # ``row.raw`` also works on a row whose session is closed. Hot paths use Core statements on
    # both tables instead.
    raw_row: Mapped[InboxRaw | None] = relationship(uselist=False, lazy="joined", cascade="all, delete-orphan",
                                                    passive_deletes=True)
    raw: AssociationProxy[bytes] = association_proxy("raw_row", "raw", creator=lambda raw: InboxRaw(raw=raw))

    __table_args__ = (Index("ix_inbox_message_state_next", "state", "next_attempt_at"),)


def claimed_message_id(stored: str, meta) -> str:
    """The Message-ID a row's mail claims: ``stored`` (the unique key), except for a second copy
    of a Message-ID, stored under its own key with the claimed id in its meta (ingest)."""
    return (meta or {}).get("message_id") or stored

"""TopicLink: what forumsync knows of a bridged topic (root Message-ID, theme, subject key)."""
from datetime import datetime

from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, CleanString, CleanText, UTCDateTime, utcnow


class TopicLink(Base):
    __tablename__ = "topic_link"

    topic_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    external_id: Mapped[str | None] = mapped_column(CleanString(64), unique=True, nullable=True)
    # Looked up by the thread stage (a reply whose parent is unknown but whose root is).
    root_message_id: Mapped[str | None] = mapped_column(CleanString(998), nullable=True, index=True)
    category_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    theme: Mapped[str | None] = mapped_column(CleanString(64), nullable=True)
    title: Mapped[str] = mapped_column(CleanText, default="")
    # Cleaned, lower-cased subject used to thread replies that lost their headers.
    subject_key: Mapped[str] = mapped_column(CleanString(500), default="", index=True)
    list_tag: Mapped[str | None] = mapped_column(CleanString(64), nullable=True)  # e.g. "[SVE]"
    state: Mapped[str] = mapped_column(CleanString(16), default="open")  # open, closed, archived, deleted
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

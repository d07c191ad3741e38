"""PostLink: a Message-ID and the forum post it is (list mail we published, or a forum post we emailed)."""
from datetime import datetime

from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, CleanString, UTCDateTime, utcnow


class PostLink(Base):
    __tablename__ = "post_link"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(CleanString(998), unique=True)  # without <>
    post_id: Mapped[int] = mapped_column(Integer, index=True)
    topic_id: Mapped[int] = mapped_column(Integer, index=True)
    post_number: Mapped[int] = mapped_column(Integer, default=1)
    origin: Mapped[str] = mapped_column(CleanString(8))  # "list" or "forum"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

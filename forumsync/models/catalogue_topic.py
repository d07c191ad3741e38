"""CatalogueTopic: one forum topic of the démarches catalogue and what was last published."""
from datetime import datetime

from sqlalchemy import JSON, Integer
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, CleanString, CleanText, UTCDateTime, utcnow


class CatalogueTopic(Base):
    __tablename__ = "catalogue_topic"

    external_id: Mapped[str] = mapped_column(CleanString(50), primary_key=True)
    topic_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    post_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the first post
    title: Mapped[str] = mapped_column(CleanText, default="")
    category: Mapped[str] = mapped_column(CleanText, default="")  # w.c.s. category name ("" : root)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    closed: Mapped[bool] = mapped_column(default=False)
    raw_sha256: Mapped[str] = mapped_column(CleanString(64), default="")
    # sha256 of title, raw (downloads by export checksum), tags, category and closed state:
    # equal to the new rendering means nothing to write.
    content_hash: Mapped[str] = mapped_column(CleanString(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

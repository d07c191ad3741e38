"""Release: one entry of a release-notes feed, published as a topic in « Évolutions »."""
from datetime import datetime

from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, CleanString, CleanText, UTCDateTime, utcnow


class Release(Base):
    __tablename__ = "release"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed: Mapped[str] = mapped_column(CleanString(100))                 # RELEASE_FEEDS[].name
    external_id: Mapped[str] = mapped_column(CleanString(64), unique=True)  # "rel-" + sha1(feed, entry id)
    entry_id: Mapped[str] = mapped_column(CleanText)                     # the feed's guid / id / link
    title: Mapped[str] = mapped_column(CleanText, default="")
    link: Mapped[str] = mapped_column(CleanText, default="")
    summary: Mapped[str] = mapped_column(CleanText, default="")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    topic_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    announced: Mapped[bool] = mapped_column(default=False)

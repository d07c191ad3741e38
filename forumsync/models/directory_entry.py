"""DirectoryEntry: a forum topic forumsync keeps in sync with COLLECTIVITIES (annuaire, census)."""
from datetime import datetime

from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, CleanString, UTCDateTime, utcnow


class DirectoryEntry(Base):
    __tablename__ = "directory_entry"

    external_id: Mapped[str] = mapped_column(CleanString(64), primary_key=True)  # "coll-…" / "logi-…"
    kind: Mapped[str] = mapped_column(CleanString(16))            # "annuaire" or "census"
    name: Mapped[str] = mapped_column(CleanString(300))           # the collectivity
    topic_id: Mapped[int] = mapped_column(Integer)
    post_id: Mapped[int] = mapped_column(Integer)             # first post, updated in place
    content_hash: Mapped[str] = mapped_column(CleanString(64))
    state: Mapped[str] = mapped_column(CleanString(16), default="open")  # open, closed (removed from settings)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

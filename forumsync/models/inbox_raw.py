"""InboxRaw: an inbound email's raw bytes, apart from its InboxMessage row.

SQLite rewrites a whole row on every UPDATE: kept in the inbox row, the raw mail (often
10–100 KB) would be rewritten by each state change (the worker's claim, its final update).
Here it is written once, with its row, and read once by the pipeline. ``InboxMessage.raw``
reads and sets it through ``InboxMessage.raw_row``.
"""
from sqlalchemy import ForeignKey, Integer, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class InboxRaw(Base):
    __tablename__ = "inbox_raw"

    inbox_id: Mapped[int] = mapped_column(Integer, ForeignKey("inbox_message.id", ondelete="CASCADE"),
                                          primary_key=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)

"""RequestSlot: the forum's request log, shared by every forumsync process on a database.

Discourse counts admin API requests for the whole site in a sliding log of the last N (60 by
default) request times, so two workers, an import and a catalogue sync must share one log:
N rows per forum URL, the oldest taken (stamped now) with one atomic UPDATE before each
request, once it is out of the window (forumsync.forum.pacing).
"""
from sqlalchemy import Float, Integer
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, CleanString


class RequestSlot(Base):
    __tablename__ = "request_slot"

    key: Mapped[str] = mapped_column(CleanString(200), primary_key=True)  # the forum's URL
    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # 0 … N-1
    # When this slot's request was sent, in seconds since the epoch (a number, so the window
    # is compared inside the UPDATE itself); 0: never used.
    at: Mapped[float] = mapped_column(Float, nullable=False)

"""RequestBudget: the forum's request budget, shared by every forumsync process on a database.

Discourse counts admin API requests per minute for the whole site (60 by default), so two
workers, an import and a catalogue sync must share one budget: a token bucket kept in this
row, taken with one atomic UPDATE (forumsync.forum.pacing).
"""
from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class RequestBudget(Base):
    __tablename__ = "request_budget"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # the forum's URL
    tokens: Mapped[float] = mapped_column(Float, nullable=False)
    # Seconds since the epoch (a number, so the refill is computed inside the UPDATE itself).
    updated_at: Mapped[float] = mapped_column(Float, nullable=False)

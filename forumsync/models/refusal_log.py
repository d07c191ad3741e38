"""RefusalLog: when forumsync last mailed a refusal to an address (backscatter limiter).

One row per lower-cased address; a refusal is sent only when ``last_sent_at`` is at least an
hour old (``forumsync.outbound.refusals``). ``suppressed`` counts the refusals not sent since.
"""
from datetime import datetime

from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, CleanString, UTCDateTime, utcnow


class RefusalLog(Base):
    __tablename__ = "refusal_log"

    sender: Mapped[str] = mapped_column(CleanString(320), primary_key=True)   # lower-cased address
    last_sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    suppressed: Mapped[int] = mapped_column(Integer, default=0)

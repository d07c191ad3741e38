"""CatalogueVariant: one collectivity's démarche as last read from its source."""
from datetime import datetime

from sqlalchemy import JSON, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, CleanString, CleanText, UTCDateTime, utcnow


class CatalogueVariant(Base):
    __tablename__ = "catalogue_variant"
    __table_args__ = (UniqueConstraint("source", "kind", "slug", name="uq_catalogue_variant_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(CleanString(100))
    kind: Mapped[str] = mapped_column(CleanString(16), default="form")
    slug: Mapped[str] = mapped_column(CleanString(250))
    collectivity: Mapped[str] = mapped_column(CleanText, default="")
    external_id: Mapped[str] = mapped_column(CleanString(50), index=True)
    # forumsync.catalogue.model.Demarche.to_data() (no export bytes, no submitted data)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    export_sha256: Mapped[str | None] = mapped_column(CleanString(64), nullable=True)
    export_url: Mapped[str | None] = mapped_column(CleanText, nullable=True)  # the forum upload
    retired_on: Mapped[str | None] = mapped_column(CleanString(10), nullable=True)  # YYYY-MM-DD
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

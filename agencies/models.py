"""Tables of record for agencies and incident categories."""

from __future__ import annotations

import uuid
from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    DateTime,
    Index,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.core.agency_kinds import AGENCY_KINDS
from dispatch.core.db import Base


class Agency(Base):
    __tablename__ = "agencies"
    __table_args__ = (
        CheckConstraint(f"kind IN {AGENCY_KINDS}", name="kind"),
        Index("ix_agencies_coverage", "coverage", postgresql_using="gist"),
        Index("ix_agencies_station", "station", postgresql_using="gist"),
        Index("ix_agencies_one_fallback_per_kind", "kind", unique=True,
              postgresql_where=text("is_fallback")),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, default=uuid.uuid4
    )
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(10))
    station = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)
    coverage = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    phone: Mapped[str | None] = mapped_column(String(40))
    contact: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )  # set by the domain code on every change


class Category(Base):
    __tablename__ = "categories"
    __table_args__ = (
        CheckConstraint("default_priority BETWEEN 1 AND 4", name="default_priority"),
        CheckConstraint("cardinality(agency_kinds) >= 1", name="agency_kinds"),
    )

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    name_id: Mapped[str] = mapped_column(Text)
    agency_kinds: Mapped[list[str]] = mapped_column(ARRAY(String(10)))
    default_priority: Mapped[int] = mapped_column(SmallInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )  # set by the domain code on every change



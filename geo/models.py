"""Tables of record for geography: administrative areas, gazetteer, cell towers, AML messages
and every candidate location of a call."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.core.db import Base

AREA_LEVELS = ("provinsi", "kabkota", "kecamatan", "kelurahan")
LOCATION_SOURCES = ("aml", "manual", "cell", "address")


class AdminArea(Base):
    """One administrative area with its Kemendagri code (`35.76.01.1003`)."""

    __tablename__ = "areas"
    __table_args__ = (
        CheckConstraint(f"level IN {AREA_LEVELS}", name="level"),
        Index("ix_areas_geom", "geom", postgresql_using="gist"),
        Index("ix_areas_name_trgm", "name", postgresql_using="gin",
              postgresql_ops={"name": "gin_trgm_ops"},
              postgresql_with={"fastupdate": "off"}),  # no pending list (0010)
        Index("ix_areas_parent_code", "parent_code"),
    )

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    level: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(Text)
    parent_code: Mapped[str | None] = mapped_column(
        String(20), ForeignKey("areas.code", ondelete="RESTRICT")
    )
    geom = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=True
    )
    # Stored for the place search (migration 0008): where to put a hit, and how vague it is.
    label_point = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=False),
        Computed("ST_PointOnSurface(geom)", persisted=True),
    )
    radius_m: Mapped[float | None] = mapped_column(
        Float(53), Computed("sqrt(ST_Area(geom::geography) / pi())", persisted=True)
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class GazetteerEntry(Base):
    """A landmark or street the operator can search for by name (admin-loadable)."""

    __tablename__ = "gazetteer"
    __table_args__ = (
        Index("ix_gazetteer_geom", "geom", postgresql_using="gist"),
        Index("ix_gazetteer_name_trgm", "name", postgresql_using="gin",
              postgresql_ops={"name": "gin_trgm_ops"},
              postgresql_with={"fastupdate": "off"}),  # no pending list (0010)
    )

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, default=uuid.uuid4
    )
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))  # landmark | street | ...
    area_code: Mapped[str | None] = mapped_column(String(20), ForeignKey("areas.code"))
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)


class CellTower(Base):
    """Serving cell → approximate position (loaded by the admin from the operators' tables)."""

    __tablename__ = "cell_towers"

    mcc: Mapped[int] = mapped_column(Integer, primary_key=True)
    mnc: Mapped[int] = mapped_column(Integer, primary_key=True)
    lac: Mapped[int] = mapped_column(Integer, primary_key=True)
    cid: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # 36-bit NR cell ids
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)
    radius_m: Mapped[float] = mapped_column(Float)


class AmlMessage(Base):
    """Every AML message received, raw and parsed, matched to a call or not (yet)."""

    __tablename__ = "aml_messages"
    __table_args__ = (Index("ix_aml_messages_caller_received", "caller_number", "received_at"),)

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, default=uuid.uuid4
    )
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    transport: Mapped[str] = mapped_column(String(40))
    raw: Mapped[str] = mapped_column(Text)
    caller_number: Mapped[str | None] = mapped_column(String(20))
    parsed: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    warnings: Mapped[list[str]] = mapped_column(JSONB, default=list)
    call_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("calls.id", ondelete="SET NULL")
    )


class LocationCandidate(Base):
    """One candidate position of a call; the chosen one is marked, the others are kept."""

    __tablename__ = "location_candidates"
    __table_args__ = (
        CheckConstraint(f"source IN {LOCATION_SOURCES}", name="source"),
        Index("ix_location_candidates_call_id", "call_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, default=uuid.uuid4
    )
    call_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("calls.id", ondelete="CASCADE")
    )
    source: Mapped[str] = mapped_column(String(10))
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    confidence_pct: Mapped[int | None] = mapped_column(Integer)
    fix_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    aml_message_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("aml_messages.id", ondelete="SET NULL")
    )
    chosen: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

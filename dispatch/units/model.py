"""The tables of record for units: the unit (with its newest position) and the history of
positions it reported."""

from __future__ import annotations

import uuid
from datetime import datetime

from geoalchemy2 import Geography
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.core.db import Base
from dispatch.units.lifecycle import UNIT_KINDS, UNIT_STATUSES

MIN_DEVICE_ID_LENGTH = 16  # the device id is a tracker's only credential (/osmand)


class Unit(Base):
    """A vehicle or team of an agency. Its newest fix is kept here (an older fix never
    replaces it); `position_event_at` throttles the `unit.position` feed events."""

    __tablename__ = "units"
    __table_args__ = (
        CheckConstraint(f"kind IN {UNIT_KINDS}", name="kind"),
        CheckConstraint(f"status IN {UNIT_STATUSES}", name="status"),
        CheckConstraint(f"char_length(device_id) >= {MIN_DEVICE_ID_LENGTH}", name="device_id"),
        Index("ix_units_agency_code", "agency_code"),
        Index("ix_units_incident_id", "incident_id"),
    )

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    agency_code: Mapped[str] = mapped_column(
        String(40), ForeignKey("agencies.code", onupdate="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(14), default="available",
                                        server_default="available")
    device_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    incident_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("incidents.id"))
    lat: Mapped[float | None] = mapped_column(Float(53))
    lon: Mapped[float | None] = mapped_column(Float(53))
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    speed_kmh: Mapped[float | None] = mapped_column(Float)
    heading: Mapped[float | None] = mapped_column(Float)
    position_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    location = mapped_column(Geography("POINT", srid=4326, spatial_index=False),
                             nullable=True)
    position_event_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    event_lat: Mapped[float | None] = mapped_column(Float(53))
    event_lon: Mapped[float | None] = mapped_column(Float(53))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now())


class UnitPosition(Base):
    """Every fix a unit reported, in or out of order, kept for the incident's record for
    `DISPATCH_POSITION_RETENTION_DAYS` (dispatch/units/retention.py prunes it)."""

    __tablename__ = "unit_positions"
    __table_args__ = (
        Index("ix_unit_positions_unit_at", "unit_code", "at"),
        Index("ix_unit_positions_received_at", "received_at", postgresql_using="brin"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    unit_code: Mapped[str] = mapped_column(
        String(40), ForeignKey("units.code", onupdate="CASCADE", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lat: Mapped[float] = mapped_column(Float(53))
    lon: Mapped[float] = mapped_column(Float(53))
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    speed_kmh: Mapped[float | None] = mapped_column(Float)
    heading: Mapped[float | None] = mapped_column(Float)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()"))

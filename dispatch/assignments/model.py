"""The table of record for assignments: one agency's part in one incident."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agencies.models import Agency
from dispatch.assignments.lifecycle import ASSIGNMENT_STATUSES
from dispatch.core.db import Base

ASSIGNMENT_REASONS = ("coverage", "nearest", "fallback", "manual", "reroute")


class Assignment(Base):
    """One agency's part in one incident. `ack_due_at` is stored so the escalation sweep
    survives restarts and needs no in-process timer."""

    __tablename__ = "assignments"
    __table_args__ = (
        CheckConstraint(f"status IN {ASSIGNMENT_STATUSES}", name="status"),
        CheckConstraint(f"reason IN {ASSIGNMENT_REASONS}", name="reason"),
        CheckConstraint("priority BETWEEN 1 AND 4", name="priority"),
        Index("ix_assignments_queue", "agency_id", "priority", "created_at",
              postgresql_where=text(
                  "status IN ('queued','acknowledged','en_route','on_scene','escalated')")),
        Index("ix_assignments_ack_due", "ack_due_at",
              postgresql_where=text("status = 'queued'")),
        Index("ix_assignments_incident_id", "incident_id"),
        Index("ix_assignments_created_at", "created_at"),  # shift statistics
    )

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, default=uuid.uuid4
    )
    incident_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("incidents.id", ondelete="RESTRICT")
    )
    agency_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("agencies.id", ondelete="RESTRICT")
    )
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12), default="queued")
    reason: Mapped[str] = mapped_column(String(10))
    priority: Mapped[int] = mapped_column(SmallInteger)
    distance_m: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )  # set by the domain code on every change
    ack_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    agency: Mapped[Agency] = relationship(lazy="joined")



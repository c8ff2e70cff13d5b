"""Tables of record for interoperability: CAP alerts we publish, hazard warnings we
receive (BMKG nowcasts), and STA-024 subscriptions with their unacknowledged events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.core.db import Base

MSG_TYPES = ("Alert", "Update", "Cancel")
SUBSCRIPTION_KINDS = ("new", "single")


class CapAlert(Base):
    """One CAP message we published about an incident, stored as sent (`xml`): a
    published message never changes. An Update or Cancel references the previous message
    of its chain (`references_id`); `chain_id` is the first message's identifier and
    `superseded_by` is set on a message once a later one of its chain is published."""

    __tablename__ = "cap_alerts"
    __table_args__ = (
        CheckConstraint(f"msg_type IN {MSG_TYPES}", name="msg_type"),
        Index("ix_cap_alerts_chain_id", "chain_id"),
        Index("ix_cap_alerts_incident_id", "incident_id"),
        Index("ix_cap_alerts_expires_at", "expires_at"),
    )

    identifier: Mapped[str] = mapped_column(String(120), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(120))
    references_id: Mapped[str | None] = mapped_column(String(120))
    superseded_by: Mapped[str | None] = mapped_column(String(120))
    incident_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("incidents.id"))
    msg_type: Mapped[str] = mapped_column(String(8))
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    headline: Mapped[str] = mapped_column(Text)
    instruction: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(10))
    urgency: Mapped[str] = mapped_column(String(10))
    certainty: Mapped[str] = mapped_column(String(10))
    xml: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))


class HazardWarning(Base):
    """A CAP warning received from outside (BMKG's nowcast), with the areas of the region
    its polygons touch. Active while `expires_at` is ahead, it is neither a Cancel nor
    superseded by a later Update/Cancel referencing it."""

    __tablename__ = "hazard_warnings"
    __table_args__ = (
        UniqueConstraint("sender", "identifier", name="uq_hazard_warnings_sender"),
        CheckConstraint(f"msg_type IN {MSG_TYPES}", name="msg_type"),
        Index("ix_hazard_warnings_expires_at", "expires_at"),
        Index("ix_hazard_warnings_geom", "geom", postgresql_using="gist"),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    identifier: Mapped[str] = mapped_column(String(200))
    sender: Mapped[str] = mapped_column(String(200))
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    msg_type: Mapped[str] = mapped_column(String(8))
    references: Mapped[list[dict[str, str]]] = mapped_column(JSONB, default=list)
    superseded_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    event: Mapped[str] = mapped_column(Text)
    headline: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    instruction: Mapped[str | None] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(10))
    urgency: Mapped[str] = mapped_column(String(10))
    certainty: Mapped[str] = mapped_column(String(10))
    onset_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    area_descs: Mapped[list[str]] = mapped_column(JSONB, default=list)
    areas: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False),
                         nullable=True)
    xml: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now())
    received_by: Mapped[str] = mapped_column(String(64))


class EidoSubscription(Base):
    """An STA-024 subscription: who holds it, what it follows, until when, and how far
    through the event log it has been served (`last_seq`: every event up to it was sent
    or did not concern it). Survives reconnection: the subscriber re-subscribes with its
    `subscriptionId` and gets its unacknowledged events again, then what it missed."""

    __tablename__ = "eido_subscriptions"
    __table_args__ = (
        CheckConstraint(f"kind IN {SUBSCRIPTION_KINDS}", name="kind"),
        Index("ix_eido_subscriptions_user_id", "user_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(8))
    incident_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("incidents.id"))
    min_rate_s: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seq: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now())
    terminated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EidoPendingEvent(Base):
    """An event notification sent on a subscription and not yet acknowledged."""

    __tablename__ = "eido_pending_events"
    __table_args__ = (Index("ix_eido_pending_events_subscription", "subscription_id", "seq"),)

    transaction_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("eido_subscriptions.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    incident_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    sent_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now())

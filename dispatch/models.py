"""Tables of record for the operator's domain: users, calls, incidents and the event log."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Sequence,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dispatch.assignments.model import Assignment
from dispatch.core.db import Base

ROLES = ("gateway", "operator", "supervisor", "agency", "admin")
CHANNELS = ("voice", "sms", "app")
DISPOSITIONS = ("prank", "ghost", "info", "duplicate", "transferred", "abandoned")
PRANK_DISPOSITIONS = ("prank", "ghost")  # calls that count against a repeat caller
INCIDENT_STATUSES = ("open", "dispatched", "acknowledged", "on_scene", "closed")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"role IN {ROLES}", name="role"),
        CheckConstraint("(role = 'agency') = (agency_code IS NOT NULL)", name="agency_code"),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, default=uuid.uuid4
    )
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(12))
    agency_code: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("agencies.code", onupdate="CASCADE")
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Tokens carry the generation they were issued in; a revoking change adds one
    # (dispatch/accounts/sessions.py). `revision` orders account changes for the
    # processes' caches: taken from AccountRevision, see migration 0012.
    token_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    revision: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0",
                                          index=True)


class AccountRevision(Base):
    """One row: the last revision handed to an account change. Taking it locks the row
    until commit, so account changes commit in revision order."""

    __tablename__ = "account_revision"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class OpenSocket(Base):
    """A WebSocket an account holds open, in whichever process (dispatch/accounts/
    sockets.py); rows not seen for a minute belong to a process that died."""

    __tablename__ = "open_sockets"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    path: Mapped[str] = mapped_column(String(200))
    opened_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now())
    seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now())


class Call(Base):
    __tablename__ = "calls"
    __table_args__ = (
        CheckConstraint(f"channel IN {CHANNELS}", name="channel"),
        CheckConstraint(f"disposition IN {DISPOSITIONS}", name="disposition"),
        Index("ix_calls_received_at", "received_at"),
        Index("ix_calls_caller_received", "caller_number", "received_at"),
        Index("ix_calls_incident_id", "incident_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, default=uuid.uuid4
    )
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    caller_number: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(5), default="voice")
    operator_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id")
    )
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=True)
    location_source: Mapped[str | None] = mapped_column(String(10))
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    area_code: Mapped[str | None] = mapped_column(String(20), ForeignKey("areas.code"))
    area: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # names and codes of every level
    in_service_area: Mapped[bool] = mapped_column(Boolean, default=False)
    address: Mapped[str | None] = mapped_column(Text)
    cell: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    aml_raw: Mapped[str | None] = mapped_column(Text)
    location_warnings: Mapped[list[str]] = mapped_column(JSONB, default=list)
    description: Mapped[str | None] = mapped_column(Text)
    incident_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("incidents.id")
    )
    disposition: Mapped[str | None] = mapped_column(String(12))
    disposition_note: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )  # set by the domain code on every change


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint(f"status IN {INCIDENT_STATUSES}", name="status"),
        CheckConstraint("priority BETWEEN 1 AND 4", name="priority"),
        Index("ix_incidents_created_at", "created_at"),
        Index("ix_incidents_location", "location", postgresql_using="gist"),
        Index("ix_incidents_status_category", "status", "category", "created_at"),
        # The possible-duplicates lookup: category, ST_DWithin(location::geography, …) and
        # the time window tested inside the index, nearest first (btree_gist, 0009).
        Index("ix_incidents_open_nearby", "category", text("(location::geography)"),
              "created_at", postgresql_using="gist",
              postgresql_where=text("status <> 'closed'")),
        CheckConstraint("merged_into IS NULL OR (merged_into <> id AND closed_at IS NOT NULL)",
                        name="merged"),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, default=uuid.uuid4
    )
    number: Mapped[str] = mapped_column(String(32), unique=True)
    category: Mapped[str] = mapped_column(String(40), ForeignKey("categories.code"))
    priority: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(12), default="open")
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=True)
    location_source: Mapped[str | None] = mapped_column(String(10))
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    area_code: Mapped[str | None] = mapped_column(String(20), ForeignKey("areas.code"))
    area: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # names and codes of every level
    description: Mapped[str | None] = mapped_column(Text)
    resolution: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id")
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )  # set by the domain code on every change
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Closed with resolution "merged": the incident that took its calls (dispatch/incidents/
    # merging.py); null otherwise.
    merged_into: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("incidents.id")
    )

    assignments: Mapped[list[Assignment]] = relationship(
        order_by=Assignment.created_at, lazy="selectin"
    )


class IncidentNote(Base):
    """A note on an incident, by its author. Append-only: a trigger refuses DELETE and any
    UPDATE but of `incident_id` (a merge moves notes to the surviving incident, an unmerge
    back); a correction is a new note."""

    __tablename__ = "incident_notes"
    __table_args__ = (
        CheckConstraint("char_length(text) BETWEEN 1 AND 4000", name="text_length"),
        Index("ix_incident_notes_incident_id", "incident_id", "at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, default=uuid.uuid4
    )
    incident_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("incidents.id")
    )
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(64))  # the username, as events name actors
    author_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id")
    )
    role: Mapped[str] = mapped_column(String(12))
    agency_code: Mapped[str | None] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class IncidentMerge(Base):
    """One merge of `merged_id` into `into_id`: exactly what it moved and cancelled, so an
    unmerge restores that (and only that). `undone_at` is set by the unmerge; at most one
    merge of an incident is in force."""

    __tablename__ = "incident_merges"
    __table_args__ = (
        CheckConstraint("merged_id <> into_id", name="distinct"),
        Index("ix_incident_merges_merged_id", "merged_id", unique=True,
              postgresql_where=text("undone_at IS NULL")),
        Index("ix_incident_merges_into_id", "into_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, default=uuid.uuid4
    )
    merged_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("incidents.id"))
    into_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("incidents.id"))
    merged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    merged_by: Mapped[str] = mapped_column(String(64))
    status_before: Mapped[str] = mapped_column(String(12))  # of the merged incident
    call_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)))
    note_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)))
    moved_assignment_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)))
    # [{"id", "status", "note"}]: the merged incident's assignments the merge cancelled,
    # with what they were before
    cancelled_assignments: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    undone_by: Mapped[str | None] = mapped_column(String(64))


INCIDENT_NUMBER_SEQ = Sequence("incident_number_seq", metadata=Base.metadata)


class IncidentDay(Base):
    """Where a local day's incident numbers start: number = nextval(incident_number_seq) -
    base. Written once per region and day, outside any business transaction, and never
    changed, so numbering takes no lock and two incidents never share a number (there may
    be gaps: a rolled-back intake's number is not reused)."""

    __tablename__ = "incident_days"

    region: Mapped[str] = mapped_column(String(6), primary_key=True)
    local_date: Mapped[date] = mapped_column(Date, primary_key=True)
    base: Mapped[int] = mapped_column(BigInteger)


class IdempotencyRecord(Base):
    """The first response to a request carrying an Idempotency-Key, per user."""

    __tablename__ = "idempotency_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_sha256: Mapped[bytes] = mapped_column(LargeBinary)
    status_code: Mapped[int] = mapped_column(SmallInteger)
    response: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Event(Base):
    """The append-only event log, which is also the outbox the live feeds read.

    `txid` is the writing transaction's id: a reader only trusts rows below the oldest
    transaction still running, so an event whose seq was taken early but committed late is
    never skipped. UPDATE, DELETE and TRUNCATE are refused by triggers in the database."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_incident_id", "incident_id"),
        Index("ix_events_agency_codes", "agency_codes", postgresql_using="gin"),
        Index("ix_events_at", "at"),
        Index("ix_events_stats_updated", "seq",
              postgresql_where=text("type = 'stats.updated'")),
        Index("ix_events_unit_status", "at", postgresql_where=text("type = 'unit.status'")),
    )

    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )
    type: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[str] = mapped_column(String(64))
    incident_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    assignment_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    agency_codes: Mapped[list[str]] = mapped_column(
        ARRAY(String(40)), server_default=text("'{}'")
    )
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    txid: Mapped[int] = mapped_column(
        BigInteger, server_default=text("pg_current_xact_id()::text::bigint")
    )


class EventSeal(Base):
    """The hash chain over the event log: hash(n) = SHA-256(hash(n-1) ‖ event n), written in
    seq order shortly after commit by one process at a time (dispatch/core/audit.py)."""

    __tablename__ = "event_seals"

    seq: Mapped[int] = mapped_column(BigInteger, ForeignKey("events.seq"), primary_key=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

"""units: vehicles and teams of the agencies, their newest position and position history

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

`units` holds each unit's status and newest fix (an older fix never replaces a newer:
the UPDATE compares `position_at`); `location` is that fix as geography, for the distance
to an incident. `unit_positions` keeps every fix for the incident's record; rows older
than the retention are deleted in batches by one process at a time
(dispatch/units/retention.py), so the table is indexed by unit and time for reading a
track, and by arrival (BRIN, cheap on an append-mostly table) for the pruning.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geography
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNIT_KINDS = ("ambulance", "patrol", "fire_engine", "rescue", "other")
UNIT_STATUSES = ("available", "dispatched", "en_route", "on_scene", "transporting",
                 "at_hospital", "returning", "out_of_service")


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("agency_code", sa.String(40),
                  sa.ForeignKey("agencies.code", onupdate="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("status", sa.String(14), nullable=False, server_default="available"),
        sa.Column("device_id", sa.String(128), unique=True),
        sa.Column("incident_id", postgresql.UUID(as_uuid=True),
                  sa.ForeignKey("incidents.id")),
        sa.Column("lat", sa.Float(53)),
        sa.Column("lon", sa.Float(53)),
        sa.Column("accuracy_m", sa.Float()),
        sa.Column("speed_kmh", sa.Float()),
        sa.Column("heading", sa.Float()),
        sa.Column("position_at", sa.DateTime(timezone=True)),
        sa.Column("location", Geography("POINT", srid=4326, spatial_index=False)),
        sa.Column("position_event_at", sa.DateTime(timezone=True)),
        sa.Column("event_lat", sa.Float(53)),
        sa.Column("event_lon", sa.Float(53)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.CheckConstraint(f"kind IN {UNIT_KINDS}", name="ck_units_kind"),
        sa.CheckConstraint(f"status IN {UNIT_STATUSES}", name="ck_units_status"),
        sa.CheckConstraint("char_length(device_id) >= 16", name="ck_units_device_id"),
    )
    op.create_index("ix_units_agency_code", "units", ["agency_code"])
    op.create_index("ix_units_incident_id", "units", ["incident_id"])
    op.create_table(
        "unit_positions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), primary_key=True),
        sa.Column("unit_code", sa.String(40),
                  sa.ForeignKey("units.code", onupdate="CASCADE", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lat", sa.Float(53), nullable=False),
        sa.Column("lon", sa.Float(53), nullable=False),
        sa.Column("accuracy_m", sa.Float()),
        sa.Column("speed_kmh", sa.Float()),
        sa.Column("heading", sa.Float()),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("now()")),
    )
    op.create_index("ix_unit_positions_unit_at", "unit_positions", ["unit_code", "at"])
    op.create_index("ix_unit_positions_received_at", "unit_positions", ["received_at"],
                    postgresql_using="brin")
    # The shift figures' units part reads the shift's unit status events by time.
    op.create_index("ix_events_unit_status", "events", ["at"],
                    postgresql_where=sa.text("type = 'unit.status'"))


def downgrade() -> None:
    op.drop_index("ix_events_unit_status", table_name="events")
    op.drop_table("unit_positions")
    op.drop_table("units")

"""interop: CAP alerts out, hazard warnings in, STA-024 subscriptions

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03

`cap_alerts` keeps every CAP message we published exactly as sent (an Update or Cancel
references the previous message of its chain). `hazard_warnings` keeps the CAP warnings
received (BMKG), with the union of their polygons (GiST: the console map and "which
warnings cover this point") and the areas they touch. `eido_subscriptions` and
`eido_pending_events` make STA-024 subscriptions survive a dropped socket: how far
through the event log each was served, and which notifications wait for their
acknowledgement.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MSG_TYPES = ("Alert", "Update", "Cancel")
SUBSCRIPTION_KINDS = ("new", "single")


def upgrade() -> None:
    op.create_table(
        "cap_alerts",
        sa.Column("identifier", sa.String(120), primary_key=True),
        sa.Column("chain_id", sa.String(120), nullable=False),
        sa.Column("references_id", sa.String(120)),
        sa.Column("superseded_by", sa.String(120)),
        sa.Column("incident_id", postgresql.UUID(as_uuid=True),
                  sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("msg_type", sa.String(8), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("headline", sa.Text(), nullable=False),
        sa.Column("instruction", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("urgency", sa.String(10), nullable=False),
        sa.Column("certainty", sa.String(10), nullable=False),
        sa.Column("xml", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.CheckConstraint(f"msg_type IN {MSG_TYPES}", name="ck_cap_alerts_msg_type"),
    )
    op.create_index("ix_cap_alerts_chain_id", "cap_alerts", ["chain_id"])
    op.create_index("ix_cap_alerts_incident_id", "cap_alerts", ["incident_id"])
    op.create_index("ix_cap_alerts_expires_at", "cap_alerts", ["expires_at"])

    op.create_table(
        "hazard_warnings",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("identifier", sa.String(200), nullable=False),
        sa.Column("sender", sa.String(200), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("msg_type", sa.String(8), nullable=False),
        sa.Column("references", postgresql.JSONB(), nullable=False),
        sa.Column("superseded_by", postgresql.UUID(as_uuid=True)),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("headline", sa.Text()),
        sa.Column("description", sa.Text()),
        sa.Column("instruction", sa.Text()),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("urgency", sa.String(10), nullable=False),
        sa.Column("certainty", sa.String(10), nullable=False),
        sa.Column("onset_at", sa.DateTime(timezone=True)),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("area_descs", postgresql.JSONB(), nullable=False),
        sa.Column("areas", postgresql.JSONB(), nullable=False),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False)),
        sa.Column("xml", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("received_by", sa.String(64), nullable=False),
        sa.UniqueConstraint("sender", "identifier", name="uq_hazard_warnings_sender"),
        sa.CheckConstraint(f"msg_type IN {MSG_TYPES}", name="ck_hazard_warnings_msg_type"),
    )
    op.create_index("ix_hazard_warnings_expires_at", "hazard_warnings", ["expires_at"])
    op.create_index("ix_hazard_warnings_geom", "hazard_warnings", ["geom"],
                    postgresql_using="gist")

    op.create_table(
        "eido_subscriptions",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("user_id", postgresql.UUID(as_uuid=True), sa.ForeignKey("users.id"),
                  nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("incident_id", postgresql.UUID(as_uuid=True),
                  sa.ForeignKey("incidents.id")),
        sa.Column("min_rate_s", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("terminated_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(f"kind IN {SUBSCRIPTION_KINDS}", name="ck_eido_subscriptions_kind"),
    )
    op.create_index("ix_eido_subscriptions_user_id", "eido_subscriptions", ["user_id"])
    op.create_table(
        "eido_pending_events",
        sa.Column("transaction_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("subscription_id", postgresql.UUID(as_uuid=True),
                  sa.ForeignKey("eido_subscriptions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("incident_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
    )
    op.create_index("ix_eido_pending_events_subscription", "eido_pending_events",
                    ["subscription_id", "seq"])


def downgrade() -> None:
    op.drop_table("eido_pending_events")
    op.drop_table("eido_subscriptions")
    op.drop_table("hazard_warnings")
    op.drop_table("cap_alerts")

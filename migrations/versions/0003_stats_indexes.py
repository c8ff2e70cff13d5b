"""stats indexes: assignments by creation time, for the per-shift statistics

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

A shift's figures select calls by received_at (ix_calls_received_at), incidents by
created_at (ix_incidents_created_at) and assignments by created_at, which had no index:
without it the agency figures scan the whole assignments table (a year holds ~500,000).
Per incident, the earliest call and first assignment come from ix_calls_incident_id and
ix_assignments_incident_id, which exist already.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_assignments_created_at", "assignments", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_assignments_created_at", table_name="assignments")

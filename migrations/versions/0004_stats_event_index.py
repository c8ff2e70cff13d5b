"""index to find the last stats.updated event without scanning the log

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_events_stats_updated", "events", ["seq"], unique=False,
                    postgresql_where=sa.text("type = 'stats.updated'"))


def downgrade() -> None:
    op.drop_index("ix_events_stats_updated", table_name="events",
                  postgresql_where=sa.text("type = 'stats.updated'"))

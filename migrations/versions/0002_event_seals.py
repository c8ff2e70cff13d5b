"""event seals: a SHA-256 hash chain over the event log, append-only like the log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_seals",
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.ForeignKeyConstraint(["seq"], ["events.seq"], name=op.f("fk_event_seals_seq_events")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_event_seals")),
    )
    op.execute(
        """CREATE TRIGGER event_seals_no_update_delete BEFORE UPDATE OR DELETE ON event_seals
           FOR EACH ROW EXECUTE FUNCTION events_refuse_change()"""
    )
    op.execute(
        """CREATE TRIGGER event_seals_no_truncate BEFORE TRUNCATE ON event_seals
           FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change()"""
    )


def downgrade() -> None:
    op.drop_table("event_seals")

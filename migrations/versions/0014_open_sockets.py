"""open sockets: the WebSockets each account holds open, across every process and host

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02

One row per open feed socket (dispatch/accounts/sockets.py). A process inserts the row
when it accepts a socket, under a per-account advisory lock after counting the account's
rows, deletes it when the socket closes, and touches its rows' `seen_at` every few
seconds; rows of a process that died stop being touched and no longer count after a
minute.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "open_sockets",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("user_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("path", sa.String(200), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
    )
    op.create_index("ix_open_sockets_user_id", "open_sockets", ["user_id"])


def downgrade() -> None:
    op.drop_table("open_sockets")

"""account sessions: token generations, account revisions, last log-in

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

A token carries its user's `token_generation` at issue; logging out, a password change or
reset, a role or agency change and disabling the account add one to it, which refuses
every token issued before (dispatch/accounts/sessions.py).

Every process keeps the generations in memory and asks for the accounts whose `revision`
is above the highest it has seen. Revisions come from the one row of `account_revision`,
taken with that row locked until commit, so they become visible in the order they were
handed out and a reader that has seen revision n never misses a later commit below n.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("token_generation", sa.Integer(), nullable=False,
                                     server_default="0"))
    op.add_column("users", sa.Column("revision", sa.BigInteger(), nullable=False,
                                     server_default="0"))
    op.add_column("users", sa.Column("last_login_at", sa.DateTime(timezone=True)))
    op.create_index("ix_users_revision", "users", ["revision"])
    op.create_table(
        "account_revision",
        sa.Column("id", sa.SmallInteger(), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name="one_row"),
    )
    op.execute("INSERT INTO account_revision (id, value) VALUES (1, 0)")


def downgrade() -> None:
    op.drop_table("account_revision")
    op.drop_index("ix_users_revision", table_name="users")
    op.drop_column("users", "last_login_at")
    op.drop_column("users", "revision")
    op.drop_column("users", "token_generation")

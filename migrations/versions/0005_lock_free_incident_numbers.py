"""incident numbers from a sequence and a per-day base instead of a row-locked counter

The counter row was locked from the moment an intake took its number until it committed,
so every intake in the city waited for the one before it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE SEQUENCE incident_number_seq")
    op.create_table(
        "incident_days",
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("base", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("region", "local_date", name=op.f("pk_incident_days")),
    )
    # Days already numbered continue after their last number.
    op.execute(
        """INSERT INTO incident_days (region, local_date, base)
           SELECT region, local_date, nextval('incident_number_seq') - last_value
           FROM incident_counters"""
    )
    op.drop_table("incident_counters")


def downgrade() -> None:
    op.create_table(
        "incident_counters",
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("region", "local_date", name=op.f("pk_incident_counters")),
    )
    op.execute(
        """INSERT INTO incident_counters (region, local_date, last_value)
           SELECT d.region, d.local_date,
                  max(split_part(i.number, '-', 3)::int)
           FROM incident_days d JOIN incidents i
             ON i.number LIKE d.region || '-' || to_char(d.local_date, 'YYYYMMDD') || '-%'
           GROUP BY d.region, d.local_date"""
    )
    op.drop_table("incident_days")
    op.execute("DROP SEQUENCE incident_number_seq")

"""open incidents: a GiST index on location::geography for the possible-duplicates lookup

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

The intake looks for open incidents of the same category within `duplicate_radius_m`
with `ST_DWithin(location::geography, …)`. The geometry index cannot answer that cast, so
the lookup read every open incident of the category from the last hour: 44 ms per call
with 50,000 open incidents (a surge), 0.5 ms with this index.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """CREATE INDEX ix_incidents_open_geography ON incidents
           USING gist ((location::geography)) WHERE status <> 'closed'"""
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_incidents_open_geography")

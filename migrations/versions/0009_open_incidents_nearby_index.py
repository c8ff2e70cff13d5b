"""possible duplicates: one GiST index on (category, location::geography, created_at) of
open incidents, walked nearest first

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

The intake's possible-duplicates lookup (same category, within `duplicate_radius_m`, from
the last `duplicate_window_s`) used 0007's GiST index on `location::geography` alone: it
fetched every open incident within the radius, of every category and age, and filtered
them on the heap. With the harness's 12,800 open incidents in a 6 × 5 km box that was
about 1,000 rows and 1,100 buffers per intake, the intake read's largest cost under load.
With btree_gist the category and the creation time are tested inside the index, and the
lookup takes its rows nearest first (`<->`) and stops at ten.

The btree on (category, created_at) of open incidents goes: the service's prepared
statement is planned once for any category and radius, and with it the planner took that
btree, which tests neither the place nor the radius (seen with auto_explain in the
harness: every open incident of the category from the last hour fetched and measured).
The incident list filtered by status and category, newest first, had used it; a btree on
(status, category, created_at) serves that list and cannot serve the lookup (status is
tested there with `<>`).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")  # a trusted extension
    op.execute(
        """CREATE INDEX ix_incidents_open_nearby ON incidents
           USING gist (category, (location::geography), created_at)
           WHERE status <> 'closed'"""
    )
    op.execute("DROP INDEX ix_incidents_open_geography")
    op.execute("DROP INDEX ix_incidents_open_category")
    op.execute(
        "CREATE INDEX ix_incidents_status_category ON incidents (status, category, created_at)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_incidents_status_category")
    op.execute(
        """CREATE INDEX ix_incidents_open_category ON incidents (category, created_at)
           WHERE status <> 'closed'"""
    )
    op.execute(
        """CREATE INDEX ix_incidents_open_geography ON incidents
           USING gist ((location::geography)) WHERE status <> 'closed'"""
    )
    op.execute("DROP INDEX ix_incidents_open_nearby")  # btree_gist stays, as extensions do

"""categories bump the 'agencies' index version: processes cache them with the agencies

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """CREATE TRIGGER categories_bump_version
           AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON categories
           FOR EACH STATEMENT EXECUTE FUNCTION bump_index_version('agencies')"""
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER categories_bump_version ON categories")

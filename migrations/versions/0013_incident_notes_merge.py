"""incident notes and merges

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03

- `incident_notes`: append-only notes on an incident. A trigger refuses DELETE, TRUNCATE
  and any UPDATE except of `incident_id` (a merge moves a note to the surviving incident,
  an unmerge moves it back); a correction is a new note.
- `incidents.merged_into`: the incident a closed incident was merged into (null
  otherwise), and `incident_merges`: what each merge moved (calls, notes, assignments) and
  which assignments it cancelled with their status before, so that an unmerge restores
  exactly that. At most one merge of an incident is in force (partial unique index).

No index for possible duplicates without a category: 0009's GiST index on (category,
location::geography, created_at) answers that lookup too, testing place and window inside
the index without a condition on its first column (measured in dispatch/calls/reads.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTES_APPEND_ONLY = [
    """CREATE FUNCTION incident_notes_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND (NEW.id, NEW.text, NEW.author, NEW.author_id, NEW.role,
                                 NEW.agency_code, NEW.at)
                IS NOT DISTINCT FROM (OLD.id, OLD.text, OLD.author, OLD.author_id, OLD.role,
                                      OLD.agency_code, OLD.at) THEN
            RETURN NEW;  -- only incident_id changed: a merge or an unmerge moved it
        END IF;
        RAISE EXCEPTION 'incident notes are append-only: % is not allowed', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END $$""",
    """CREATE TRIGGER incident_notes_no_change BEFORE UPDATE OR DELETE ON incident_notes
        FOR EACH ROW EXECUTE FUNCTION incident_notes_refuse_change()""",
    """CREATE TRIGGER incident_notes_no_truncate BEFORE TRUNCATE ON incident_notes
        FOR EACH STATEMENT EXECUTE FUNCTION incident_notes_refuse_change()""",
]


def upgrade() -> None:
    op.add_column("incidents", sa.Column("merged_into", sa.UUID(), nullable=True))
    op.create_foreign_key(op.f("fk_incidents_merged_into_incidents"), "incidents",
                          "incidents", ["merged_into"], ["id"])
    op.create_check_constraint(
        op.f("ck_incidents_merged"), "incidents",
        "merged_into IS NULL OR (merged_into <> id AND closed_at IS NOT NULL)")

    op.create_table(
        "incident_notes",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("incident_id", sa.UUID(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("author_id", sa.UUID(), nullable=True),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("agency_code", sa.String(length=40), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.CheckConstraint("char_length(text) BETWEEN 1 AND 4000",
                           name=op.f("ck_incident_notes_text_length")),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_incident_notes_incident_id_incidents")),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"],
                                name=op.f("fk_incident_notes_author_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_notes")),
    )
    op.create_index("ix_incident_notes_incident_id", "incident_notes", ["incident_id", "at"])
    for statement in NOTES_APPEND_ONLY:
        op.execute(statement)

    op.create_table(
        "incident_merges",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("merged_id", sa.UUID(), nullable=False),
        sa.Column("into_id", sa.UUID(), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("merged_by", sa.String(length=64), nullable=False),
        sa.Column("status_before", sa.String(length=12), nullable=False),
        sa.Column("call_ids", postgresql.ARRAY(sa.UUID()), nullable=False),
        sa.Column("note_ids", postgresql.ARRAY(sa.UUID()), nullable=False),
        sa.Column("moved_assignment_ids", postgresql.ARRAY(sa.UUID()), nullable=False),
        sa.Column("cancelled_assignments", postgresql.JSONB(astext_type=sa.Text()),
                  nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undone_by", sa.String(length=64), nullable=True),
        sa.CheckConstraint("merged_id <> into_id", name=op.f("ck_incident_merges_distinct")),
        sa.ForeignKeyConstraint(["merged_id"], ["incidents.id"],
                                name=op.f("fk_incident_merges_merged_id_incidents")),
        sa.ForeignKeyConstraint(["into_id"], ["incidents.id"],
                                name=op.f("fk_incident_merges_into_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_merges")),
    )
    op.create_index("ix_incident_merges_merged_id", "incident_merges", ["merged_id"],
                    unique=True, postgresql_where=sa.text("undone_at IS NULL"))
    op.create_index("ix_incident_merges_into_id", "incident_merges", ["into_id"])


def downgrade() -> None:
    op.drop_table("incident_merges")
    op.drop_table("incident_notes")
    op.execute("DROP FUNCTION incident_notes_refuse_change()")
    op.drop_constraint(op.f("ck_incidents_merged"), "incidents", type_="check")
    op.drop_constraint(op.f("fk_incidents_merged_into_incidents"), "incidents",
                       type_="foreignkey")
    op.drop_column("incidents", "merged_into")

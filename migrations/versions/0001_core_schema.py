"""core schema: areas, agencies, categories, users, calls, incidents, assignments, events

Revision ID: 0001
Revises:
Create Date: 2026-11-23 09:35:57.031518
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The event log is append-only for everyone, the application's role included.
EVENTS_APPEND_ONLY = [
    """CREATE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the event log is append-only: % on events is not allowed', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END $$""",
    """CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events
        FOR EACH ROW EXECUTE FUNCTION events_refuse_change()""",
    """CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
        FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change()""",
]

# Each process keeps in-memory indexes of areas and agencies; any change to those tables,
# by any path, bumps a version and wakes the processes so they rebuild.
INDEX_VERSIONS = [
    "CREATE TABLE index_versions (name text PRIMARY KEY, version bigint NOT NULL DEFAULT 0)",
    "INSERT INTO index_versions (name) VALUES ('areas'), ('agencies')",
    """CREATE FUNCTION bump_index_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE index_versions SET version = version + 1 WHERE name = TG_ARGV[0];
        PERFORM pg_notify('siaga112_index', TG_ARGV[0]);
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER areas_bump_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON areas
        FOR EACH STATEMENT EXECUTE FUNCTION bump_index_version('areas')""",
    """CREATE TRIGGER agencies_bump_version
        AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON agencies
        FOR EACH STATEMENT EXECUTE FUNCTION bump_index_version('agencies')""",
]


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_geospatial_table(
        "agencies",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column(
            "station",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "coverage",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("is_fallback", sa.Boolean(), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("contact", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('police', 'fire', 'health', 'disaster', 'sar', 'utility')",
            name=op.f("ck_agencies_kind"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agencies")),
        sa.UniqueConstraint("code", name=op.f("uq_agencies_code")),
    )
    op.create_geospatial_index(
        "ix_agencies_coverage",
        "agencies",
        ["coverage"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        "ix_agencies_one_fallback_per_kind",
        "agencies",
        ["kind"],
        unique=True,
        postgresql_where=sa.text("is_fallback"),
    )
    op.create_geospatial_index(
        "ix_agencies_station",
        "agencies",
        ["station"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_geospatial_table(
        "areas",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("parent_code", sa.String(length=20), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "level IN ('provinsi', 'kabkota', 'kecamatan', 'kelurahan')",
            name=op.f("ck_areas_level"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_code"],
            ["areas.code"],
            name=op.f("fk_areas_parent_code_areas"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_areas")),
    )
    op.create_geospatial_index(
        "ix_areas_geom", "areas", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_index(
        "ix_areas_name_trgm",
        "areas",
        ["name"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.create_index("ix_areas_parent_code", "areas", ["parent_code"], unique=False)
    op.create_table(
        "categories",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_id", sa.Text(), nullable=False),
        sa.Column("agency_kinds", sa.ARRAY(sa.String(length=10)), nullable=False),
        sa.Column("default_priority", sa.SmallInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "cardinality(agency_kinds) >= 1", name=op.f("ck_categories_agency_kinds")
        ),
        sa.CheckConstraint(
            "default_priority BETWEEN 1 AND 4", name=op.f("ck_categories_default_priority")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_categories")),
    )
    op.create_geospatial_table(
        "cell_towers",
        sa.Column("mcc", sa.Integer(), nullable=False),
        sa.Column("mnc", sa.Integer(), nullable=False),
        sa.Column("lac", sa.Integer(), nullable=False),
        sa.Column("cid", sa.BigInteger(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("radius_m", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("mcc", "mnc", "lac", "cid", name=op.f("pk_cell_towers")),
    )
    op.create_table(
        "events",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column(
            "at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("incident_id", sa.UUID(), nullable=True),
        sa.Column("assignment_id", sa.UUID(), nullable=True),
        sa.Column(
            "agency_codes",
            sa.ARRAY(sa.String(length=40)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "txid",
            sa.BigInteger(),
            server_default=sa.text("pg_current_xact_id()::text::bigint"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_events")),
    )
    op.create_index(
        "ix_events_agency_codes", "events", ["agency_codes"], unique=False, postgresql_using="gin"
    )
    op.create_index("ix_events_at", "events", ["at"], unique=False)
    op.create_index("ix_events_incident_id", "events", ["incident_id"], unique=False)
    op.create_table(
        "incident_counters",
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("region", "local_date", name=op.f("pk_incident_counters")),
    )
    op.create_geospatial_table(
        "gazetteer",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("area_code", sa.String(length=20), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["area_code"], ["areas.code"], name=op.f("fk_gazetteer_area_code_areas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gazetteer")),
    )
    op.create_geospatial_index(
        "ix_gazetteer_geom",
        "gazetteer",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        "ix_gazetteer_name_trgm",
        "gazetteer",
        ["name"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.create_table(
        "users",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("agency_code", sa.String(length=40), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(role = 'agency') = (agency_code IS NOT NULL)", name=op.f("ck_users_agency_code")
        ),
        sa.CheckConstraint(
            "role IN ('gateway', 'operator', 'supervisor', 'agency', 'admin')",
            name=op.f("ck_users_role"),
        ),
        sa.ForeignKeyConstraint(
            ["agency_code"],
            ["agencies.code"],
            name=op.f("fk_users_agency_code_agencies"),
            onupdate="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_sha256", sa.LargeBinary(), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=False),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_idempotency_keys_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_geospatial_table(
        "incidents",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column(
            "location",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("location_source", sa.String(length=10), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("area_code", sa.String(length=20), nullable=True),
        sa.Column("area", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'dispatched', 'acknowledged', 'on_scene', 'closed')",
            name=op.f("ck_incidents_status"),
        ),
        sa.CheckConstraint("priority BETWEEN 1 AND 4", name=op.f("ck_incidents_priority")),
        sa.ForeignKeyConstraint(
            ["area_code"], ["areas.code"], name=op.f("fk_incidents_area_code_areas")
        ),
        sa.ForeignKeyConstraint(
            ["category"], ["categories.code"], name=op.f("fk_incidents_category_categories")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_incidents_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint("number", name=op.f("uq_incidents_number")),
    )
    op.create_index("ix_incidents_created_at", "incidents", ["created_at"], unique=False)
    op.create_geospatial_index(
        "ix_incidents_location",
        "incidents",
        ["location"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        "ix_incidents_open_category",
        "incidents",
        ["category", "created_at"],
        unique=False,
        postgresql_where=sa.text("status <> 'closed'"),
    )
    op.create_table(
        "assignments",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("incident_id", sa.UUID(), nullable=False),
        sa.Column("agency_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=10), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("ack_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "reason IN ('coverage', 'nearest', 'fallback', 'manual', 'reroute')",
            name=op.f("ck_assignments_reason"),
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'acknowledged', 'en_route', 'on_scene', 'completed', 'declined', 'escalated', 'cancelled')",
            name=op.f("ck_assignments_status"),
        ),
        sa.CheckConstraint("priority BETWEEN 1 AND 4", name=op.f("ck_assignments_priority")),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agencies.id"],
            name=op.f("fk_assignments_agency_id_agencies"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_assignments_incident_id_incidents"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
    )
    op.create_index(
        "ix_assignments_ack_due",
        "assignments",
        ["ack_due_at"],
        unique=False,
        postgresql_where=sa.text("status = 'queued'"),
    )
    op.create_index("ix_assignments_incident_id", "assignments", ["incident_id"], unique=False)
    op.create_index(
        "ix_assignments_queue",
        "assignments",
        ["agency_id", "priority", "created_at"],
        unique=False,
        postgresql_where=sa.text(
            "status IN ('queued','acknowledged','en_route','on_scene','escalated')"
        ),
    )
    op.create_geospatial_table(
        "calls",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("caller_number", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=5), nullable=False),
        sa.Column("operator_id", sa.UUID(), nullable=True),
        sa.Column(
            "location",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("location_source", sa.String(length=10), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("area_code", sa.String(length=20), nullable=True),
        sa.Column("area", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("in_service_area", sa.Boolean(), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("cell", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("aml_raw", sa.Text(), nullable=True),
        sa.Column("location_warnings", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("incident_id", sa.UUID(), nullable=True),
        sa.Column("disposition", sa.String(length=12), nullable=True),
        sa.Column("disposition_note", sa.Text(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("channel IN ('voice', 'sms', 'app')", name=op.f("ck_calls_channel")),
        sa.CheckConstraint(
            "disposition IN ('prank', 'ghost', 'info', 'duplicate', 'transferred', 'abandoned')",
            name=op.f("ck_calls_disposition"),
        ),
        sa.ForeignKeyConstraint(
            ["area_code"], ["areas.code"], name=op.f("fk_calls_area_code_areas")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_calls_incident_id_incidents")
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["users.id"], name=op.f("fk_calls_operator_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calls")),
    )
    op.create_index(
        "ix_calls_caller_received", "calls", ["caller_number", "received_at"], unique=False
    )
    op.create_index("ix_calls_incident_id", "calls", ["incident_id"], unique=False)
    op.create_index("ix_calls_received_at", "calls", ["received_at"], unique=False)
    op.create_table(
        "aml_messages",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("transport", sa.String(length=40), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("caller_number", sa.String(length=20), nullable=True),
        sa.Column("parsed", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("warnings", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("call_id", sa.UUID(), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_aml_messages_call_id_calls"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aml_messages")),
    )
    op.create_index(
        "ix_aml_messages_caller_received",
        "aml_messages",
        ["caller_number", "received_at"],
        unique=False,
    )
    op.create_geospatial_table(
        "location_candidates",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("call_id", sa.UUID(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("confidence_pct", sa.Integer(), nullable=True),
        sa.Column("fix_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("aml_message_id", sa.UUID(), nullable=True),
        sa.Column("chosen", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "source IN ('aml', 'manual', 'cell', 'address')",
            name=op.f("ck_location_candidates_source"),
        ),
        sa.ForeignKeyConstraint(
            ["aml_message_id"],
            ["aml_messages.id"],
            name=op.f("fk_location_candidates_aml_message_id_aml_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_location_candidates_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_location_candidates")),
    )
    op.create_index(
        "ix_location_candidates_call_id", "location_candidates", ["call_id"], unique=False
    )
    for sql in (*EVENTS_APPEND_ONLY, *INDEX_VERSIONS):
        op.execute(sql)


def downgrade() -> None:
    # The postgis and pg_trgm extensions stay: other schemas in the database may use them.
    op.execute("DROP TABLE index_versions")
    op.execute("DROP FUNCTION bump_index_version() CASCADE")
    op.execute("DROP FUNCTION events_refuse_change() CASCADE")
    op.drop_index("ix_location_candidates_call_id", table_name="location_candidates")
    op.drop_geospatial_table("location_candidates")
    op.drop_index("ix_aml_messages_caller_received", table_name="aml_messages")
    op.drop_table("aml_messages")
    op.drop_index("ix_calls_received_at", table_name="calls")
    op.drop_index("ix_calls_incident_id", table_name="calls")
    op.drop_index("ix_calls_caller_received", table_name="calls")
    op.drop_geospatial_table("calls")
    op.drop_index(
        "ix_assignments_queue",
        table_name="assignments",
        postgresql_where=sa.text(
            "status IN ('queued','acknowledged','en_route','on_scene','escalated')"
        ),
    )
    op.drop_index("ix_assignments_incident_id", table_name="assignments")
    op.drop_index(
        "ix_assignments_ack_due",
        table_name="assignments",
        postgresql_where=sa.text("status = 'queued'"),
    )
    op.drop_table("assignments")
    op.drop_index(
        "ix_incidents_open_category",
        table_name="incidents",
        postgresql_where=sa.text("status <> 'closed'"),
    )
    op.drop_geospatial_index(
        "ix_incidents_location",
        table_name="incidents",
        postgresql_using="gist",
        column_name="location",
    )
    op.drop_index("ix_incidents_created_at", table_name="incidents")
    op.drop_geospatial_table("incidents")
    op.drop_table("idempotency_keys")
    op.drop_table("users")
    op.drop_index(
        "ix_gazetteer_name_trgm",
        table_name="gazetteer",
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.drop_geospatial_index(
        "ix_gazetteer_geom", table_name="gazetteer", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("gazetteer")
    op.drop_table("incident_counters")
    op.drop_index("ix_events_incident_id", table_name="events")
    op.drop_index("ix_events_at", table_name="events")
    op.drop_index("ix_events_agency_codes", table_name="events", postgresql_using="gin")
    op.drop_table("events")
    op.drop_geospatial_table("cell_towers")
    op.drop_table("categories")
    op.drop_index("ix_areas_parent_code", table_name="areas")
    op.drop_index(
        "ix_areas_name_trgm",
        table_name="areas",
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.drop_geospatial_index(
        "ix_areas_geom", table_name="areas", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("areas")
    op.drop_geospatial_index(
        "ix_agencies_station", table_name="agencies", postgresql_using="gist", column_name="station"
    )
    op.drop_index(
        "ix_agencies_one_fallback_per_kind",
        table_name="agencies",
        postgresql_where=sa.text("is_fallback"),
    )
    op.drop_geospatial_index(
        "ix_agencies_coverage",
        table_name="agencies",
        postgresql_using="gist",
        column_name="coverage",
    )
    op.drop_geospatial_table("agencies")

"""The schema comes from migrations only, goes up and down, and matches the models."""

from __future__ import annotations

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

import migrations.all_models  # noqa: F401
from dispatch.core.databases import plain_url
from dispatch.core.db import Base
from dispatch.core.schema import include_object
from dispatch.tools import migrate

CORE_TABLES = {
    "areas", "agencies", "categories", "users", "calls", "incidents", "assignments", "events",
    "incident_days", "idempotency_keys", "gazetteer", "cell_towers", "aml_messages",
    "location_candidates", "index_versions", "alembic_version", "event_seals", "rate_limits",
    "account_revision", "open_sockets", "incident_notes", "incident_merges", "units",
    "unit_positions", "cap_alerts", "hazard_warnings", "eido_subscriptions",
    "eido_pending_events",
}


async def _tables(url: str) -> set[str]:
    conn = await asyncpg.connect(plain_url(url))
    try:
        rows = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename <> 'spatial_ref_sys'"
        )
        return {r["tablename"] for r in rows}
    finally:
        await conn.close()


async def test_upgrade_downgrade_upgrade(make_database) -> None:
    url = await make_database()
    assert await _tables(url) == set()
    await migrate.upgrade_async(url)
    assert await _tables(url) == CORE_TABLES
    await migrate.downgrade_async(url, "base")
    assert await _tables(url) == {"alembic_version"}
    await migrate.upgrade_async(url)
    assert await _tables(url) == CORE_TABLES


async def _search_function_and_trigram_options(url: str) -> tuple[str, dict[str, object]]:
    conn = await asyncpg.connect(plain_url(url))
    try:
        body = await conn.fetchval(
            "SELECT prosrc FROM pg_proc WHERE proname = 'search_place_candidates'")
        options = await conn.fetch(
            "SELECT relname, reloptions FROM pg_class"
            " WHERE relname IN ('ix_areas_name_trgm', 'ix_gazetteer_name_trgm')")
        return body, {r["relname"]: r["reloptions"] for r in options}
    finally:
        await conn.close()


async def test_place_search_migration_goes_back_to_the_previous_function(make_database) -> None:
    url = await make_database()
    await migrate.upgrade_async(url)
    body, options = await _search_function_and_trigram_options(url)
    assert "area_hits AS MATERIALIZED" in body and "h.placed AND" in body
    assert set(map(tuple, options.values())) == {("fastupdate=off",)}
    await migrate.downgrade_async(url, "0009")
    body, options = await _search_function_and_trigram_options(url)
    assert "WHERE a.geom IS NOT NULL AND (a.name % ANY($1)" in body
    assert "MATERIALIZED (  -- the trigram" not in body and "placed" not in body
    assert set(options.values()) == {None}


async def test_geometry_columns_have_gist_indexes(database_url: str) -> None:
    conn = await asyncpg.connect(plain_url(database_url))
    try:
        geometry_columns = await conn.fetch(
            "SELECT f_table_name AS t, f_geometry_column AS c, type, srid FROM geometry_columns"
        )
        gist = await conn.fetch(
            "SELECT tablename, indexdef FROM pg_indexes WHERE indexdef LIKE '%USING gist%'"
        )
    finally:
        await conn.close()
    assert {r["srid"] for r in geometry_columns} == {4326}
    indexed = {(r["tablename"], r["indexdef"].rsplit("(", 1)[1].rstrip(")")) for r in gist}
    unindexed = {(r["t"], r["c"]) for r in geometry_columns} - indexed
    # Points that are only ever read with their row (a call's position, a candidate) need none.
    assert unindexed <= {("calls", "location"), ("location_candidates", "geom"),
                         ("cell_towers", "geom"), ("areas", "label_point")}
    assert ("areas", "geom") in indexed and ("agencies", "coverage") in indexed


async def test_models_and_migrations_agree(database_url: str) -> None:
    engine = create_async_engine(database_url)

    def diff(sync_conn):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(
            sync_conn, opts={"include_object": include_object, "compare_type": True}
        )
        return compare_metadata(context, Base.metadata)

    try:
        async with engine.connect() as conn:
            differences = await conn.run_sync(diff)
    finally:
        await engine.dispose()
    assert differences == []


@pytest.mark.parametrize("statement", [
    "UPDATE events SET actor = 'x'",
    "DELETE FROM events",
    "TRUNCATE events CASCADE",
])
async def test_event_log_refuses_changes(database_url: str, statement: str) -> None:
    conn = await asyncpg.connect(plain_url(database_url))
    probe = conn.transaction()
    await probe.start()
    try:
        await conn.execute(
            "INSERT INTO events (type, actor, entity, entity_id) VALUES ('t', 'a', 'e', '1')"
        )
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await conn.execute(statement)
    finally:
        await probe.rollback()
        await conn.close()


async def test_numbering_continues_across_the_counter_migration(make_database) -> None:
    """0005 replaces the row-locked counter: a day numbered before continues after it."""
    url = await make_database()
    await migrate.upgrade_async(url, "0004")
    conn = await asyncpg.connect(plain_url(url))
    try:
        await conn.execute("INSERT INTO incident_counters VALUES ('MJK', '2026-11-23', 41)")
        await migrate.upgrade_async(url, "0005")
        base = await conn.fetchval("SELECT base FROM incident_days")
        following = await conn.fetchval("SELECT nextval('incident_number_seq')")
    finally:
        await conn.close()
    assert following - base == 42

"""The intake's reads stay cheap as open incidents pile up (a surge), and stay right."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from dispatch.actor import Actor
from dispatch.calls.reads import (
    _DUPLICATES_SQL,
    _INTAKE_READS,
    DUPLICATES_SHOWN,
    _duplicate,
    _duplicate_params,
    possible_duplicates,
)
from dispatch.core.db import make_engine, make_sessionmaker
from dispatch.core.geodesy import haversine_m
from dispatch.incidents.location import Located
from tests.conftest import DatabaseFactory
from tests.plan_support import add_open_incidents, assert_walks_the_nearby_index, generic_plan
from tests.support import load_demo_into, make_settings

OPEN_INCIDENTS = 4000
CENTER = (-7.4720, 112.4340)  # lat, lon in Mojokerto


async def test_duplicates_lookup_walks_the_nearby_index_and_finds_the_nearest(
    make_database: DatabaseFactory,
) -> None:
    url = await make_database(migrated=True)
    await load_demo_into(url)
    settings = make_settings(url)
    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            # Open medical incidents spread over ~22 × 22 km, all within the hour.
            await add_open_incidents(session, "SURGE-", ["medical"], OPEN_INCIDENTS)
            now = datetime.now(UTC)
            actor = Actor("test", settings, agencies=None)  # type: ignore[arg-type]
            here = Located(CENTER[0], CENTER[1], 10.0, "typed", None, None)
            params = _duplicate_params(actor, "medical", here, now)
            plan = (await session.execute(
                text("EXPLAIN (FORMAT JSON) " + _DUPLICATES_SQL), params)).scalar_one()
            # The intake's read as the service runs it, planned once for every category.
            generic = await generic_plan(session, _INTAKE_READS, {
                "numbered": "true", "caller": "'+6281234567890'",
                "pranks": "'{prank,ghost}'", "lon": str(CENTER[1]), "lat": str(CENTER[0]),
                "category": "'medical'", "radius": "500"})
            led_by_category = set((await session.execute(text("""
                SELECT c.relname FROM pg_index i
                JOIN pg_class c ON c.oid = i.indexrelid
                JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                WHERE i.indrelid = 'incidents'::regclass AND a.attname = 'category'"""))
                                  ).scalars())
            found = await possible_duplicates(session, actor, "medical", here, now)
            rows = (await session.execute(text(
                "SELECT number, ST_Y(location) AS lat, ST_X(location) AS lon FROM incidents"
                " WHERE number LIKE 'SURGE-%'"))).all()
            jit = (await session.execute(text("SHOW jit"))).scalar_one()
    finally:
        await engine.dispose()

    # The service's prepared read, planned once for any category: both scans of incidents
    # go through the index with the place in the index condition (before migration 0009
    # this plan took a btree on (category, created_at) and measured the whole category).
    assert_walks_the_nearby_index(plan, generic)
    # In the harness (statistics lagging a growing table) the generic plan took a btree led
    # by category over this index; no other index may offer the lookup that shortcut.
    assert led_by_category == {"ix_incidents_open_nearby"}
    assert jit == "off"
    radius = settings.duplicate_radius_m
    # The service's great-circle distance; PostGIS uses the spheroid (within 0.6 %).
    expected = sorted((haversine_m(CENTER[0], CENTER[1], r.lat, r.lon), r.number) for r in rows)
    surely_within = {number for metres, number in expected if metres <= radius * 0.99}
    maybe_within = {number for metres, number in expected if metres <= radius * 1.01}
    assert len(surely_within) >= 3 and len(maybe_within) <= 10  # the grid's spacing
    assert surely_within <= {d["number"] for d in found} <= maybe_within
    assert all(d["distance_m"] <= radius for d in found)
    assert [d["distance_m"] for d in found] == sorted(d["distance_m"] for d in found)


# Every open incident of the category within the radius and window, measured: what the
# lookup must return, however it finds it.
_ALL_DUPLICATES_MEASURED = f"""
    SELECT id::text AS incident_id, number, category,
           round(ST_Distance(location::geography,
                             ST_MakePoint(:lon, :lat)::geography)::numeric, 1) AS distance_m,
           round(extract(epoch FROM (:now - created_at))) AS age_s
    FROM incidents
    WHERE status <> 'closed' AND category = :category AND created_at >= :duplicate_since
      AND ST_Distance(location::geography, ST_MakePoint(:lon, :lat)::geography) <= :radius
    ORDER BY distance_m, created_at LIMIT {DUPLICATES_SHOWN}
"""


async def test_duplicates_are_the_nearest_ten_older_first_among_equals(
    make_database: DatabaseFactory,
) -> None:
    """A flood: hundreds of open incidents of one category around the caller, fifteen of
    them reported at one spot. The lookup walks out nearest first and measures only what
    it reached; its answer must be the exact one."""
    url = await make_database(migrated=True)
    await load_demo_into(url)
    settings = make_settings(url)
    engine = make_engine(settings)
    lat0, lon0 = CENTER
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            await session.execute(text("""
                INSERT INTO incidents (id, number, category, priority, status, location,
                                       created_at, updated_at)
                SELECT gen_random_uuid(), 'FLOOD-' || g, c, 2, s,
                       ST_SetSRID(ST_MakePoint(:lon0 + ((g * 7919) % 200 - 100) * 0.00004,
                                               :lat0 + ((g * 104729) % 200 - 100) * 0.00004),
                                  4326),
                       now() - ((g * 31) % 120) * interval '1 minute'
                             - g * interval '1 millisecond', now()
                FROM generate_series(1, 1200) g,
                     LATERAL (SELECT CASE WHEN g % 3 = 0 THEN 'rescue' ELSE 'medical' END c,
                                     CASE WHEN g % 11 = 0 THEN 'closed' ELSE 'open' END s) x
                UNION ALL  -- one spot reported fifteen times, a minute apart
                SELECT gen_random_uuid(), 'SPOT-' || g, 'medical', 2, 'open',
                       ST_SetSRID(ST_MakePoint(:lon0 + 0.0003, :lat0), 4326),
                       now() - g * interval '1 minute', now()
                FROM generate_series(1, 15) g"""), {"lat0": lat0, "lon0": lon0})
            await session.execute(text("ANALYZE incidents"))
            now = datetime.now(UTC)
            actor = Actor("test", settings, agencies=None)  # type: ignore[arg-type]
            checked = 0
            for dlat, dlon in ((0, 0), (0, 0.0003), (0.001, -0.002), (-0.003, 0.001),
                               (0.0035, 0.0035), (0.02, 0.02)):
                here = Located(lat0 + dlat, lon0 + dlon, 10.0, "typed", None, None)
                found = await possible_duplicates(session, actor, "medical", here, now)
                params = _duplicate_params(actor, "medical", here, now)
                exact = (await session.execute(text(_ALL_DUPLICATES_MEASURED), params)
                         ).mappings().all()
                assert found == [_duplicate(dict(r)) for r in exact], (dlat, dlon)
                checked += len(found)
            at_spot = Located(lat0, lon0 + 0.0003, 10.0, "typed", None, None)
            spot = await possible_duplicates(session, actor, "medical", at_spot, now)
    finally:
        await engine.dispose()
    assert checked >= 4 * DUPLICATES_SHOWN  # most places had more than ten to choose from
    # At the spot itself: ten of its fifteen reports, the oldest first.
    assert [d["number"] for d in spot] == [f"SPOT-{g}" for g in range(15, 5, -1)]
    assert all(d["distance_m"] == 0.0 for d in spot)

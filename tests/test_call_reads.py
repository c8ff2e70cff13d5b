"""The intake's reads stay cheap as open incidents pile up (a surge), and stay right."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import text

from dispatch.call_reads import _DUPLICATES_SQL, _duplicate_params, possible_duplicates
from dispatch.db import make_engine, make_sessionmaker
from dispatch.incidents import Actor, Located
from geo.locate import distance_m
from tests.conftest import DatabaseFactory
from tests.support import load_demo_into, make_settings

OPEN_INCIDENTS = 4000
CENTER = (-7.4720, 112.4340)  # lat, lon in Mojokerto


async def test_duplicates_lookup_uses_the_geography_index_and_finds_the_nearest(
    make_database: DatabaseFactory,
) -> None:
    url = await make_database(migrated=True)
    await load_demo_into(url)
    settings = make_settings(url)
    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            # Open medical incidents spread over ~22 × 22 km, all within the hour.
            await session.execute(text("""
                INSERT INTO incidents (id, number, category, priority, status, location,
                                       created_at, updated_at)
                SELECT gen_random_uuid(), 'SURGE-' || g, 'medical', 2, 'open',
                       ST_SetSRID(ST_MakePoint(112.33 + (g % 97) * 0.002,
                                               -7.57 + (g / 97) * 0.005), 4326),
                       now() - (g % 50) * interval '1 minute', now()
                FROM generate_series(1, :n) g"""), {"n": OPEN_INCIDENTS})
            await session.execute(text("ANALYZE incidents"))
            now = datetime.now(UTC)
            actor = Actor("test", settings, agencies=None)  # type: ignore[arg-type]
            here = Located(CENTER[0], CENTER[1], 10.0, "typed", None, None)
            params = _duplicate_params(actor, "medical", here, now)
            plan = (await session.execute(
                text("EXPLAIN (FORMAT JSON) " + _DUPLICATES_SQL), params)).scalar_one()
            found = await possible_duplicates(session, actor, "medical", here, now)
            rows = (await session.execute(text(
                "SELECT number, ST_Y(location) AS lat, ST_X(location) AS lon FROM incidents"
                " WHERE number LIKE 'SURGE-%'"))).all()
            jit = (await session.execute(text("SHOW jit"))).scalar_one()
    finally:
        await engine.dispose()

    assert "ix_incidents_open_geography" in json.dumps(plan)
    assert jit == "off"
    radius = settings.duplicate_radius_m
    # The service's great-circle distance; PostGIS uses the spheroid (within ±0.5 %).
    expected = sorted((distance_m(CENTER[0], CENTER[1], r.lat, r.lon), r.number) for r in rows)
    surely_within = {number for metres, number in expected if metres <= radius * 0.99}
    maybe_within = {number for metres, number in expected if metres <= radius * 1.01}
    assert len(surely_within) >= 3 and len(maybe_within) <= 10  # the grid's spacing
    assert surely_within <= {d["number"] for d in found} <= maybe_within
    assert all(d["distance_m"] <= radius for d in found)
    assert [d["distance_m"] for d in found] == sorted(d["distance_m"] for d in found)

"""The shipped boundaries of one level as a GeoJSON FeatureCollection: the consoles'
basemap (no tile server in a closed room).

Simplified with ST_SimplifyPreserveTopology at 0.0002° (about 20 m, finer than a screen
pixel at the zoom that shows a whole kabupaten) and written with 5 decimals (about 1 m):
the 322 kelurahan of the demo region come to about 300 KB instead of 900 KB. The document
is built by PostgreSQL in one statement (about 90 ms for the kelurahan) and kept per
process until the areas change (their `index_versions` row, bumped by a trigger), so a
page load costs one small SELECT."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

SIMPLIFY_DEGREES = 0.0002


DECIMALS = 5


AREAS_VERSION = text("SELECT version FROM index_versions WHERE name = 'areas'")


COLLECTION = text(f"""
    SELECT json_build_object(
        'type', 'FeatureCollection',
        'features', coalesce(json_agg(json_build_object(
            'type', 'Feature',
            'geometry', ST_AsGeoJSON(
                ST_Multi(ST_SimplifyPreserveTopology(geom, {SIMPLIFY_DEGREES})),
                {DECIMALS})::json,
            'properties', json_build_object('code', code, 'name', name, 'level', level)
        ) ORDER BY code), '[]'::json))::text
    FROM areas WHERE level = :level AND geom IS NOT NULL""")


class BoundaryCache:
    """The documents built so far, for the areas version they were built from."""

    def __init__(self) -> None:
        self.version: int | None = None
        self.documents: dict[str, bytes] = {}
        self.lock = asyncio.Lock()

    async def get(self, session: AsyncSession, level: str) -> bytes:
        version = await session.scalar(AREAS_VERSION)
        async with self.lock:
            if version != self.version:
                self.version, self.documents = version, {}
            if level not in self.documents:
                built = await session.scalar(COLLECTION, {"level": level})
                self.documents[level] = str(built).encode()
            return self.documents[level]



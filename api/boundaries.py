"""`GET /v1/geo/boundaries?level=kabkota|kecamatan|kelurahan`: the shipped boundaries of
one level as a GeoJSON FeatureCollection, the consoles' basemap (no tile server in a
closed room).

Simplified with ST_SimplifyPreserveTopology at 0.0002° (about 20 m, finer than a screen
pixel at the zoom that shows a whole kabupaten) and written with 5 decimals (about 1 m):
the 322 kelurahan of the demo region come to about 300 KB instead of 900 KB. The document
is built by PostgreSQL in one statement (about 90 ms for the kelurahan) and kept per
process until the areas change (their `index_versions` row, bumped by a trigger), so a
page load costs one small SELECT.

The query lives here, not in a domain module, because the console foundation could only
add files under api/ (see the console's report); it belongs in geo/ beside the areas."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import require
from api.deps import unit_of_work
from api.problems import problem_responses
from api.responses import MultiPolygon, Out
from dispatch.accounts.tokens import Principal

router = APIRouter(prefix="/v1/geo", tags=["geography"],
                   responses=problem_responses(401, 403, 422, 429, 503))
Reader = Annotated[Principal, Depends(require("operator", "supervisor", "admin", "agency"))]
BoundaryLevel = Literal["kabkota", "kecamatan", "kelurahan"]
SIMPLIFY_DEGREES = 0.0002
DECIMALS = 5
MAX_AGE_S = 300


class BoundaryProperties(Out):
    code: str = Field(examples=["35.76.01.1001"])
    name: str
    level: BoundaryLevel


class Boundary(Out):
    """One area's boundary (a GeoJSON Feature)."""

    type: Literal["Feature"]
    geometry: MultiPolygon
    properties: BoundaryProperties


class BoundaryCollection(Out):
    """The boundaries of one level (a GeoJSON FeatureCollection), by code."""

    type: Literal["FeatureCollection"]
    features: list[Boundary]


_VERSION = text("SELECT version FROM index_versions WHERE name = 'areas'")
_COLLECTION = text(f"""
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
        version = await session.scalar(_VERSION)
        async with self.lock:
            if version != self.version:
                self.version, self.documents = version, {}
            if level not in self.documents:
                built = await session.scalar(_COLLECTION, {"level": level})
                self.documents[level] = str(built).encode()
            return self.documents[level]


@router.get("/boundaries", response_model=BoundaryCollection)
async def list_boundaries(
    request: Request,
    principal: Reader,
    level: Annotated[BoundaryLevel, Query(description="which boundaries")] = "kecamatan",
) -> Response:
    """The boundaries of one level as GeoJSON (properties code, name, level)."""
    cache: BoundaryCache | None = getattr(request.app.state, "boundary_cache", None)
    if cache is None:
        cache = request.app.state.boundary_cache = BoundaryCache()
    async with unit_of_work(request) as session:
        document = await cache.get(session, level)
    return Response(document, media_type="application/json",
                    headers={"Cache-Control": f"private, max-age={MAX_AGE_S}"})

"""`GET /v1/geo/boundaries?level=kabkota|kecamatan|kelurahan`: the shipped boundaries of
one level as a GeoJSON FeatureCollection, the consoles' basemap (no tile server in a
closed room).
Built and cached by geo/boundaries.py."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field

from api.auth import require
from api.deps import unit_of_work
from api.problems import problem_responses
from api.responses import MultiPolygon, Out
from dispatch.accounts.tokens import Principal
from geo.boundaries import BoundaryCache

router = APIRouter(prefix="/v1/geo", tags=["geography"],
                   responses=problem_responses(401, 403, 422, 429, 503))
Reader = Annotated[Principal, Depends(require("operator", "supervisor", "admin", "agency"))]
BoundaryLevel = Literal["kabkota", "kecamatan", "kelurahan"]
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

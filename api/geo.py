"""Geography: reverse geocoding and place search."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from api.auth import require
from api.deps import area_index, unit_of_work
from api.problems import problem_responses
from api.responses import Place, ReverseGeocode
from dispatch.accounts.tokens import Principal
from geo import search as place_search

router = APIRouter(prefix="/v1/geo", tags=["geography"],
                   responses=problem_responses(401, 403, 422, 429, 503))
Reader = Annotated[Principal, Depends(require("operator", "supervisor", "admin", "agency"))]


@router.get("/reverse")
async def reverse_geocode(
    request: Request,
    principal: Reader,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
) -> ReverseGeocode:
    """The area of a point, with `in_service_area`; area null outside the loaded region."""
    async with unit_of_work(request) as session:
        areas = await area_index(request, session)
    finite = math.isfinite(lat) and math.isfinite(lon)
    return ReverseGeocode.of(areas.locate(lat, lon) if finite else None)


@router.get("/search")
async def search_places(
    request: Request,
    principal: Reader,
    q: Annotated[str, Query(max_length=200)],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[Place]:
    """Areas and gazetteer entries whose names match `q`, best first."""
    async with unit_of_work(request) as session:
        hits = await place_search.search_places(session, q, limit=limit)
    return [Place.model_validate(hit) for hit in hits]

"""Geography: reverse geocoding and place search."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from api.auth import require
from api.deps import area_index, unit_of_work
from dispatch.accounts.tokens import Principal
from geo.search import search_places

router = APIRouter(prefix="/v1/geo", tags=["geography"])
Reader = Annotated[Principal, Depends(require("operator", "supervisor", "admin", "agency"))]


@router.get("/reverse")
async def reverse(
    request: Request,
    principal: Reader,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
) -> dict[str, Any]:
    """The area of a point, with `in_service_area`; area null outside the loaded region."""
    async with unit_of_work(request) as session:
        areas = await area_index(request, session)
    match = areas.locate(lat, lon) if math.isfinite(lat) and math.isfinite(lon) else None
    return {
        "area": match.to_dict() if match else None,
        "in_service_area": match is not None,
        "exact": match.exact if match else None,
    }


@router.get("/search")
async def search(
    request: Request,
    principal: Reader,
    q: Annotated[str, Query(max_length=200)],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[dict[str, Any]]:
    async with unit_of_work(request) as session:
        hits = await search_places(session, q, limit=limit)
    return [
        {"name": h.name, "level": h.level, "code": h.code, "lat": h.lat, "lon": h.lon,
         "score": round(h.score, 3)}
        for h in hits
    ]

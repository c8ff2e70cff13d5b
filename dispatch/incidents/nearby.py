"""Open incidents near a point, of one category or of any: what an operator checks as
soon as a call has a position, before anyone knows what happened."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.core.errors import Invalid

MAX_RADIUS_M = 10_000.0
MAX_SHOWN = 50
# The GiST index of 0009 on (category, location::geography, created_at) of open incidents
# answers ST_DWithin with or without the category.
_NEARBY = text("""
    SELECT id::text AS incident_id, number, category, priority, status,
           round(ST_Distance(location::geography,
                             ST_MakePoint(:lon, :lat)::geography)::numeric, 1) AS distance_m,
           round(extract(epoch FROM (now() - created_at))) AS age_s
    FROM incidents
    WHERE status <> 'closed'
      AND (CAST(:category AS text) IS NULL OR category = :category)
      AND (CAST(:agency AS text) IS NULL OR EXISTS (
          SELECT 1 FROM assignments a JOIN agencies g ON g.id = a.agency_id
          WHERE a.incident_id = incidents.id AND g.code = :agency))
      AND ST_DWithin(location::geography, ST_MakePoint(:lon, :lat)::geography, :radius)
    ORDER BY distance_m, created_at
    LIMIT :limit
""")


async def incidents_nearby(
    session: AsyncSession, *, lat: float, lon: float, radius_m: float,
    category: str | None, only_agency: str | None = None, limit: int = MAX_SHOWN,
) -> dict[str, Any]:
    """`{"items": [...]}`, nearest first, each with `distance_m` on the spheroid;
    `only_agency`: only incidents assigned to that agency (an agency account's view)."""
    if not (math.isfinite(lat) and -90 <= lat <= 90):
        raise Invalid("lat must be between -90 and 90", field="lat")
    if not (math.isfinite(lon) and -180 <= lon <= 180):
        raise Invalid("lon must be between -180 and 180", field="lon")
    if not (math.isfinite(radius_m) and 0 < radius_m <= MAX_RADIUS_M):
        raise Invalid(f"radius_m must be more than 0 and at most {MAX_RADIUS_M:.0f}",
                      field="radius_m")
    rows = await session.execute(_NEARBY, {"lat": lat, "lon": lon, "radius": radius_m,
                                           "category": category, "agency": only_agency,
                                           "limit": limit})
    items = [{**dict(r), "distance_m": float(r.distance_m), "age_s": int(r.age_s)}
             for r in rows.mappings()]
    return {"items": items}

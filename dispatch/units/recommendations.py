"""Which units to send: for each agency kind an incident's category needs, the free units
(available or returning) of active agencies of that kind nearest to the incident.

A unit without a fix counts from its agency's station. Distance is the straight line
(PostGIS geography); the ETA is that distance × ROAD_FACTOR at the unit kind's average
speed (dispatch/units/lifecycle.py): an estimate without a road network."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from agencies.models import Category
from dispatch.core.errors import Conflict
from dispatch.incidents.reads import visible_incident
from dispatch.units.lifecycle import eta_s
from dispatch.units.views import unit_view

PER_KIND = 5

_NEAREST = text("""
WITH here AS (SELECT CAST(location AS geography) AS point FROM incidents WHERE id = :incident),
candidates AS (
    SELECT u.*, a.kind AS agency_kind,
           ST_Distance(coalesce(u.location, CAST(a.station AS geography)), here.point)
               AS distance_m
    FROM units u JOIN agencies a ON a.code = u.agency_code, here
    WHERE u.status IN ('available', 'returning') AND a.active
      AND a.kind = ANY(CAST(:kinds AS text[]))
      AND (CAST(:agency AS text) IS NULL OR u.agency_code = :agency)
),
ranked AS (
    SELECT *, row_number() OVER (PARTITION BY agency_kind ORDER BY distance_m, code) AS n
    FROM candidates
)
SELECT * FROM ranked WHERE n <= :per_kind ORDER BY distance_m, code
""")


async def recommend_units(
    session: AsyncSession, incident_id: uuid.UUID, *, only_agency: str | None,
    per_kind: int = PER_KIND,
) -> list[dict[str, Any]]:
    """`[{"unit", "agency_kind", "distance_m", "eta_s"}]`, nearest first: available units
    and those returning to their station (free to be re-tasked); for an agency, only its
    own."""
    incident = await visible_incident(session, incident_id, only_agency=only_agency)
    if incident.status == "closed":
        raise Conflict("the incident is closed", status_now="closed")
    kinds = await session.scalar(
        select(Category.agency_kinds).where(Category.code == incident.category)) or []
    if not kinds or incident.location is None:
        return []
    rows = (await session.execute(_NEAREST, {
        "incident": incident.id, "kinds": list(kinds), "per_kind": per_kind,
        "agency": only_agency})).all()
    return [{"unit": unit_view(row), "agency_kind": row.agency_kind,
             "distance_m": round(row.distance_m, 1), "eta_s": eta_s(row.distance_m, row.kind)}
            for row in rows]

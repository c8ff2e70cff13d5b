"""The incident as the API and the feeds show it (one place builds that view)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.assignments.records import (
    assignment_view,
)
from dispatch.incidents.location import location_view
from dispatch.incidents.reads import call_ids_of
from dispatch.models import Incident


def incident_view(incident: Incident, call_ids: list[uuid.UUID] | None = None) -> dict[str, Any]:
    return {
        "id": str(incident.id),
        "number": incident.number,
        "category": incident.category,
        "priority": incident.priority,
        "status": incident.status,
        "location": location_view(incident),
        "area": incident.area,
        "description": incident.description,
        "resolution": incident.resolution,
        "merged_into": incident.merged_into and str(incident.merged_into),
        "created_at": incident.created_at.isoformat(),
        "updated_at": incident.updated_at.isoformat(),
        "closed_at": incident.closed_at and incident.closed_at.isoformat(),
        "call_ids": [str(c) for c in (call_ids or [])],
        "assignments": [assignment_view(a) for a in incident.assignments],
    }


async def current_view(session: AsyncSession, incident: Incident) -> dict[str, Any]:
    """The view of an incident held by the session, with its calls read now."""
    return incident_view(incident, await call_ids_of(session, incident.id))

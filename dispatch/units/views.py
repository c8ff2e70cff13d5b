"""A unit as the API and the feeds show it, and the events about units."""

from __future__ import annotations

import uuid
from typing import Any

from dispatch.core.events import event_row


def unit_view(unit: Any) -> dict[str, Any]:
    """The contract's Unit, from an ORM unit or a row with the same column names. The
    device id, a tracker's credential, is never shown."""
    position = None
    if unit.position_at is not None:
        position = {"lat": unit.lat, "lon": unit.lon, "accuracy_m": unit.accuracy_m,
                    "speed_kmh": unit.speed_kmh, "heading": unit.heading,
                    "at": unit.position_at.isoformat()}
    return {
        "code": unit.code,
        "agency_code": unit.agency_code,
        "kind": unit.kind,
        "name": unit.name,
        "status": unit.status,
        "position": position,
        "incident_id": str(unit.incident_id) if unit.incident_id else None,
        "updated_at": unit.updated_at.isoformat(),
    }


def unit_event(
    type: str, view: dict[str, Any], *, actor: str, incident_id: uuid.UUID | None = None,
    incident: dict[str, Any] | None = None, before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None, feed: bool = True,
) -> dict[str, Any]:
    """An event about a unit, on the feeds of its agency and the supervisors (and in the
    timeline of `incident_id`, the incident it concerns)."""
    payload = {"incident": incident, "assignment": None, "unit": view} if feed else None
    return event_row(type, actor=actor, entity="unit", entity_id=view["code"],
                     incident_id=incident_id, agency_codes=[view["agency_code"]],
                     before=before, after=after, payload=payload)

"""Changing an open incident: category, priority, description or location (which re-route),
and closing it. Each change locks the incident and appends its events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.actor import Actor
from dispatch.assignments.lifecycle import CANCELLED, OPEN_STATES
from dispatch.assignments.model import Assignment
from dispatch.assignments.planning import assign_decisions, refresh_status
from dispatch.assignments.records import (
    apply_transition,
)
from dispatch.calls.input import ManualLocation
from dispatch.core.errors import Conflict
from dispatch.incidents.events import emit
from dispatch.incidents.location import Located, locate, location_view, point_of, set_location
from dispatch.incidents.opening import category_or_invalid
from dispatch.incidents.reads import get_incident
from dispatch.incidents.views import current_view
from dispatch.models import Incident
from geo.areas import AreaIndex
from geo.locate import Candidate


async def reroute(
    session: AsyncSession, incident: Incident, actor: Actor, now: datetime
) -> list[Assignment]:
    """After a new category or location: cancel open assignments whose agency is no longer
    the one routing picks for its kind, and create the missing ones (reason `reroute`)."""
    category = category_or_invalid(actor, incident.category)
    lat, lon = point_of(incident)
    declined = {a.agency.code for a in incident.assignments if a.status == "declined"}
    decisions = actor.agencies.index.route(category.agency_kinds, lat, lon, exclude=declined)
    wanted = {(d.kind, d.agency_code) for d in decisions if d.agency_code}
    for assignment in list(incident.assignments):
        still_wanted = (assignment.kind, assignment.agency.code) in wanted
        if assignment.status in OPEN_STATES and not still_wanted:
            previous = apply_transition(assignment, CANCELLED, now=now, note="re-routed")
            await emit(session, "assignment.updated", incident, actor, assignment=assignment,
                       before={"status": previous}, after={"status": CANCELLED})
    held = {(a.kind, a.agency.code) for a in incident.assignments if a.status in OPEN_STATES}
    missing = [d for d in decisions if d.agency_code and (d.kind, d.agency_code) not in held]
    created = await assign_decisions(session, incident, missing, actor, now,
                                     reason_override="reroute")
    await session.flush()
    for assignment in created:
        await emit(session, "assignment.created", incident, actor, assignment=assignment)
    return created


async def update_incident(
    session: AsyncSession,
    incident_id: uuid.UUID,
    actor: Actor,
    *,
    changes: dict[str, Any],
    located: Located | None = None,
) -> Incident:
    """PATCH: category, priority, description, location. A new category or location
    re-routes."""
    incident = await get_incident(session, incident_id, for_update=True)
    if incident.status == "closed":
        raise Conflict("the incident is closed", status_now=incident.status)
    now = datetime.now(UTC)
    before = {"category": incident.category, "priority": incident.priority,
              "description": incident.description, "location": location_view(incident)}
    if "category" in changes and changes["category"] != incident.category:
        category = category_or_invalid(actor, changes["category"])
        incident.category = category.code
    if changes.get("priority") is not None:
        incident.priority = changes["priority"]
    if "description" in changes:
        incident.description = changes["description"]
    if located is not None:
        set_location(incident, located)
    after = {"category": incident.category, "priority": incident.priority,
             "description": incident.description, "location": location_view(incident)}
    if after == before:
        return incident
    incident.updated_at = now
    if after["category"] != before["category"] or after["location"] != before["location"]:
        await reroute(session, incident, actor, now)
    refresh_status(incident, now)
    await session.flush()
    changed = {k for k in after if after[k] != before[k]}
    await emit(session, "incident.updated", incident, actor,
               before={k: before[k] for k in changed}, after={k: after[k] for k in changed})
    return incident


async def patch_incident(
    session: AsyncSession,
    actor: Actor,
    areas: AreaIndex,
    incident_id: uuid.UUID,
    *,
    changes: dict[str, Any],
    location: ManualLocation | None,
) -> dict[str, Any]:
    """The operator's PATCH: a typed position is located in the areas like a call's."""
    located = None
    if location is not None:
        located = locate(areas, Candidate("manual", location.lat, location.lon,
                                          location.accuracy_m))
    incident = await update_incident(session, incident_id, actor, changes=changes,
                                     located=located)
    return await current_view(session, incident)


async def close_incident(
    session: AsyncSession, incident_id: uuid.UUID, actor: Actor, *, resolution: str
) -> dict[str, Any]:
    """Close with a resolution; open assignments are cancelled. Returns the view."""
    incident = await get_incident(session, incident_id, for_update=True)
    if incident.status == "closed":
        raise Conflict("the incident is already closed", status_now=incident.status)
    now = datetime.now(UTC)
    for assignment in incident.assignments:
        if assignment.status in OPEN_STATES:
            apply_transition(assignment, CANCELLED, now=now, note="incident closed")
    incident.closed_at = now
    incident.resolution = resolution
    before_status = incident.status
    refresh_status(incident, now)
    await session.flush()
    await emit(session, "incident.closed", incident, actor,
               before={"status": before_status},
               after={"status": "closed", "resolution": resolution})
    return await current_view(session, incident)

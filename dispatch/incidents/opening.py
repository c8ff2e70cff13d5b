"""Opening an incident: its category checked, routed to every agency kind the category
needs, written with its assignments and events in one statement."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from agencies.registry import CategoryRule
from dispatch import batch_write
from dispatch.actor import Actor
from dispatch.assignments.planning import plan_assignments, refresh_status
from dispatch.batch_write import NewRecords
from dispatch.core.errors import Invalid
from dispatch.incidents.events import opening_events
from dispatch.incidents.location import Located, set_location
from dispatch.incidents.numbering import next_incident_number
from dispatch.models import Call, Incident


def category_or_invalid(actor: Actor, code: str) -> CategoryRule:
    """An active category, from the process's directory (no query on the hot path)."""
    category = actor.agencies.categories.get(code)
    if category is None:
        raise Invalid(f"unknown category {code!r}: see GET /v1/categories", field="category")
    return category


def plan_incident(
    actor: Actor,
    *,
    number: str,
    category: CategoryRule,
    priority: int | None,
    description: str | None,
    located: Located | None,
    now: datetime,
) -> Incident:
    """A new incident routed to every agency kind its category needs, with its
    assignments; the agencies come from the process's directory. All are transient
    objects for dispatch/batch_write.py, never for the session."""
    incident = Incident(
        id=uuid.uuid4(),
        number=number,
        category=category.code,
        priority=priority or category.default_priority,
        status="open",
        description=description,
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
        closed_at=None,
        resolution=None,
    )
    incident.assignments = []
    set_location(incident, located)
    lat, lon = (located.lat, located.lon) if located else (None, None)
    decisions = actor.agencies.index.route(category.agency_kinds, lat, lon)
    agencies = {d.agency_code: actor.agencies.agency(d.agency_code)
                for d in decisions if d.agency_code is not None}
    plan_assignments(incident, decisions, actor, now, agencies)
    refresh_status(incident, now)
    return incident


async def open_incident(
    session: AsyncSession,
    actor: Actor,
    *,
    category: CategoryRule,
    priority: int | None,
    description: str | None,
    located: Located | None,
    received_at: datetime,
    calls: list[Call],
) -> Incident:
    """Open and route an incident for calls already stored (one statement writes the
    incident, its assignments and events; the calls are then linked through the session).

    The returned incident and its assignments are transient objects: read them for the
    response; never add them to the session (that would INSERT them, and their
    directory-built agencies, a second time) and load the incident again to change it."""
    incident = plan_incident(
        actor, number=await next_incident_number(session, actor.settings, received_at),
        category=category, priority=priority, description=description, located=located,
        now=datetime.now(UTC))
    call_ids = [c.id for c in calls]
    await batch_write.write(session, NewRecords(
        incidents=[incident], assignments=list(incident.assignments),
        events=opening_events(incident, actor, call_ids)))
    session.info.setdefault("call_ids", {})[incident.id] = call_ids
    for call in calls:
        call.incident_id = incident.id
    return incident



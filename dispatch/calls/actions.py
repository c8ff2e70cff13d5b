"""What happens to a registered call afterwards: linked to an incident, given an incident of
its own, or closed with a disposition."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from dispatch.actor import Actor
from dispatch.calls.reads import (
    call_to_close,
    counts_as_repeat,
)
from dispatch.calls.views import call_view
from dispatch.core.errors import Conflict, Invalid, NotFound
from dispatch.core.events import append_row, change_with_event, event_row
from dispatch.incidents.events import emit
from dispatch.incidents.location import Located
from dispatch.incidents.opening import category_or_invalid, open_incident
from dispatch.incidents.reads import call_ids_of, get_incident
from dispatch.incidents.views import incident_view
from dispatch.models import Call, Incident
from geo.points import lon_lat


async def link_call(
    session: AsyncSession, actor: Actor, call: Call, incident: Incident
) -> dict[str, Any]:
    """Attach a stored call to an open incident (the call may be a transient object just
    written by the intake: the link is an UPDATE either way)."""
    now = datetime.now(UTC)
    if not inspect(call).persistent:  # written by batch_write, unknown to the session
        await session.execute(update(Call).where(Call.id == call.id)
                              .values(incident_id=incident.id, updated_at=now)
                              .execution_options(synchronize_session=False))
    call.incident_id = incident.id
    call.updated_at = incident.updated_at = now
    await session.flush()
    call_ids = await call_ids_of(session, incident.id)
    await emit(session, "incident.updated", incident, actor, call_ids=call_ids,
               after={"linked_call_id": str(call.id)})
    return incident_view(incident, call_ids)


async def incident_for_call(
    session: AsyncSession, actor: Actor, call_id: uuid.UUID, *, category: str | None,
    priority: int | None, description: str | None, link_incident_id: uuid.UUID | None,
) -> dict[str, Any]:
    """Open and route an incident for a registered call, or link it to an existing one."""
    if (category is None) == (link_incident_id is None):
        raise Invalid("give either category or link_incident_id", field="category")
    call = await session.scalar(select(Call).where(Call.id == call_id).with_for_update())
    if call is None:
        raise NotFound("no such call")
    if call.incident_id is not None:
        raise Conflict("the call already belongs to an incident",
                       incident_id=str(call.incident_id))
    if call.disposition is not None:
        raise Conflict(f"the call was closed as {call.disposition}")
    if link_incident_id is not None:
        incident = await get_incident(session, link_incident_id, for_update=True)
        if incident.status == "closed":
            raise Conflict("the incident to link is closed", status_now="closed")
        return await link_call(session, actor, call, incident)
    assert category is not None  # exactly one of the two was given (checked above)
    chosen_category = category_or_invalid(actor, category)
    located = None
    if call.location is not None:
        lon, lat = lon_lat(call.location)
        located = Located(lat, lon, call.accuracy_m, call.location_source or "manual",
                          call.area_code, call.area)
    incident = await open_incident(
        session, actor, category=chosen_category, priority=priority,
        description=description or call.description, located=located,
        received_at=call.received_at, calls=[call],
    )
    return incident_view(incident, [call.id])


_CLOSE_CALL = change_with_event(
    "UPDATE calls SET disposition = :disposition, disposition_note = :disposition_note,"
    " closed_at = :closed_at, updated_at = :updated_at WHERE id = :call_id"
)


async def close_call(
    session: AsyncSession, actor: Actor, call_id: uuid.UUID, disposition: str,
    note: str | None,
) -> dict[str, Any]:
    """Close a call that has no incident: prank, ghost, info, duplicate, transferred...
    Four round trips: BEGIN, the locked read, the UPDATE with its event, COMMIT."""
    now = datetime.now(UTC)
    found = await call_to_close(session, call_id, now)
    if found is None:
        raise NotFound("no such call")
    call, operator, other_pranks = found
    if call.incident_id is not None:
        raise Conflict("the call belongs to an incident; close the incident instead")
    if call.disposition is not None:
        raise Conflict(f"the call is already closed as {call.disposition}")
    changes = {"disposition": disposition, "disposition_note": note, "closed_at": now,
               "updated_at": now}
    await append_row(session, event_row(
        "call.closed", actor=actor.name, entity="call", entity_id=call.id,
        before={"disposition": None}, after={"disposition": disposition, "note": note},
    ), statement=_CLOSE_CALL, params={"call_id": call.id, **changes})
    for name, value in changes.items():  # written above: nothing left for a flush
        set_committed_value(call, name, value)
    this_one = int(counts_as_repeat(disposition, call.received_at, now))
    return call_view(call, operator=operator, incident=None, duplicates=[],
                     repeat_count=other_pranks + this_one)



"""The operator's intake: one 112 call registered, located, checked for duplicates and
repeat pranks, and (with a category) turned into a routed incident, in one transaction.

`register_call` reads as the pipeline it is, each step in the module that owns it:
parse (calls/input.py) → locate (calls/locating.py) → plan (here, and
incidents/opening.py for the incident and its assignments) → write (batch_write.py: one
statement for every row and event) → view (calls/views.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import batch_write
from dispatch.actor import Actor
from dispatch.batch_write import NewRecords
from dispatch.calls.actions import link_call
from dispatch.calls.input import CallInput, ParsedCall, parse_call
from dispatch.calls.locating import CallPosition, locate_call
from dispatch.calls.views import call_view
from dispatch.core.errors import Conflict
from dispatch.core.events import event_row
from dispatch.incidents.events import opening_events
from dispatch.incidents.location import Located, set_location
from dispatch.incidents.numbering import next_incident_number
from dispatch.incidents.opening import plan_incident
from dispatch.incidents.reads import get_incident
from dispatch.incidents.views import incident_view
from dispatch.models import Call, Incident
from geo.areas import AreaIndex
from geo.locate import Candidate
from geo.models import LocationCandidate
from geo.points import point_element


async def register_call(
    session: AsyncSession, actor: Actor, areas: AreaIndex, data: CallInput
) -> dict[str, Any]:
    """The intake: four round trips on the common path (BEGIN, the reads, one statement
    writing every row and event, COMMIT)."""
    now = datetime.now(UTC)
    parsed = parse_call(actor, data, now)
    linked = await incident_to_link(session, data.link_incident_id)
    numbered = parsed.category is not None and linked is None
    position = await locate_call(session, actor, areas, parsed, numbered=numbered, now=now)
    plan = await plan_records(session, actor, parsed, position, numbered=numbered, now=now)
    await batch_write.write(session, plan.records)
    incident_out = plan.incident_view
    if linked is not None:
        incident_out = await link_call(session, actor, plan.call, linked)
    return call_view(plan.call, operator=actor.name, incident=incident_out,
                     duplicates=position.duplicates, repeat_count=position.repeat_count)


async def incident_to_link(
    session: AsyncSession, incident_id: uuid.UUID | None
) -> Incident | None:
    """The open incident the operator links the new call to, row-locked."""
    if incident_id is None:
        return None
    incident = await get_incident(session, incident_id, for_update=True)
    if incident.status == "closed":
        raise Conflict("the incident to link is closed", status_now=incident.status)
    return incident


@dataclass(frozen=True)
class IntakePlan:
    """Step 3's answer: every row and event the call writes, as transient objects."""

    call: Call
    records: NewRecords
    incident_view: dict[str, Any] | None


async def plan_records(
    session: AsyncSession, actor: Actor, parsed: ParsedCall, position: CallPosition, *,
    numbered: bool, now: datetime,
) -> IntakePlan:
    """Step 3 of the intake: the call, its location candidates and events, and (when the
    call opens an incident) the routed incident with its assignments and events."""
    data, located = parsed.data, position.located
    call = new_call(actor, data, parsed.caller, parsed.received_at, now, located,
                    position.locating.warnings)
    records = NewRecords(
        calls=[call], candidates=new_candidates(call.id, position.locating.candidates,
                                                position.chosen),
        aml_message_ids=position.locating.matched_aml_messages)
    records.events.append(event_row(
        "call.created", actor=actor.name, entity="call", entity_id=call.id,
        after={"caller_number": parsed.caller, "location_source": call.location_source,
               "category": data.category}))
    if not numbered or parsed.category is None:
        return IntakePlan(call=call, records=records, incident_view=None)
    number = await next_incident_number(session, actor.settings, parsed.received_at,
                                        drawn=position.number_value)
    incident = plan_incident(actor, number=number, category=parsed.category,
                             priority=data.priority, description=data.description,
                             located=located, now=now)
    call.incident_id = incident.id
    records.incidents.append(incident)
    records.assignments += incident.assignments
    view = incident_view(incident, [call.id])
    records.events += opening_events(incident, actor, [call.id], view=view)
    return IntakePlan(call=call, records=records, incident_view=view)


def new_call(
    actor: Actor, data: CallInput, caller: str, received_at: datetime, now: datetime,
    located: Located | None, warnings: list[str],
) -> Call:
    call = Call(
        id=uuid.uuid4(), received_at=received_at, created_at=now, updated_at=now,
        caller_number=caller, channel=data.channel,
        operator_id=actor.user_id, address=data.address, cell=data.cell, aml_raw=data.aml,
        description=data.description, location_warnings=warnings,
        in_service_area=located is not None and located.area is not None,
    )
    if located is not None:
        set_location(call, located)
    return call


def new_candidates(
    call_id: uuid.UUID, candidates: list[Candidate], chosen: Candidate | None
) -> list[LocationCandidate]:
    return [
        LocationCandidate(
            id=uuid.uuid4(), call_id=call_id, source=candidate.source,
            geom=point_element(candidate.lon, candidate.lat),
            accuracy_m=candidate.accuracy_m, confidence_pct=candidate.confidence_pct,
            fix_time=candidate.fix_time, chosen=candidate is chosen,
            aml_message_id=candidate.aml_message_id,
        )
        for candidate in candidates
    ]



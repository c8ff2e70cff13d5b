"""The operator's intake: one 112 call registered, located, checked for duplicates and
repeat pranks, and (with a category) turned into a routed incident, in one transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import phonenumbers
from sqlalchemy import inspect, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from dispatch import batch_write
from dispatch.batch_write import NewRecords
from dispatch.call_reads import (
    call_to_close,
    counts_as_repeat,
    intake_reads,
    possible_duplicates,
    repeat_caller,
)
from dispatch.errors import Conflict, Invalid, NotFound
from dispatch.events import append_row, change_with_event, event_row
from dispatch.incidents import (
    Actor,
    Located,
    call_ids_of,
    category_or_invalid,
    emit,
    get_incident,
    incident_view,
    location_view,
    next_incident_number,
    open_incident,
    opening_events,
    plan_incident,
)
from dispatch.models import Call, Incident, User
from dispatch.pagination import decode_cursor, encode_cursor
from geo.aml import parse_aml
from geo.areas import AreaIndex
from geo.cells import locate_cell
from geo.locate import Candidate, aml_candidate, choose
from geo.models import LocationCandidate
from geo.points import lon_lat, point_element
from geo.search import geocode_address


@dataclass(frozen=True)
class ManualLocation:
    lat: float
    lon: float
    accuracy_m: float | None = None


@dataclass(frozen=True)
class CallInput:
    caller_number: str
    received_at: datetime | None = None
    channel: str = "voice"
    aml: str | None = None
    location: ManualLocation | None = None
    address: str | None = None
    cell: dict[str, int] | None = None
    category: str | None = None
    priority: int | None = None
    description: str | None = None
    link_incident_id: uuid.UUID | None = None


@dataclass
class Locating:
    """Everything learned about where a call is."""

    candidates: list[Candidate] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    matched_aml_messages: list[uuid.UUID] = field(default_factory=list)


def normalise_number(raw: str, region: str) -> str:
    """E.164 for any valid number written in international or local (0812…) form."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise Invalid(f"caller_number {raw!r} is not a phone number",
                      field="caller_number") from None
    if not phonenumbers.is_valid_number(number):
        raise Invalid(f"caller_number {raw!r} is not a valid phone number",
                      field="caller_number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def locate(areas: AreaIndex, candidate: Candidate | None) -> Located | None:
    if candidate is None:
        return None
    match = areas.locate(candidate.lat, candidate.lon)
    return Located(
        lat=candidate.lat,
        lon=candidate.lon,
        accuracy_m=candidate.accuracy_m,
        source=candidate.source,
        area_code=match.kelurahan.code if match else None,
        area=match.to_dict() if match else None,
    )


async def gather_candidates(session: AsyncSession, data: CallInput) -> Locating:
    """The candidates the request itself carries (AML, typed position, serving cell,
    address); AML that came before the call is added by the intake's read."""
    found = Locating()
    if data.aml:
        fix = parse_aml(data.aml)
        found.warnings += [f"aml: {w}" for w in fix.warnings]
        candidate = aml_candidate(fix)
        if candidate is None:
            found.warnings.append("aml: no usable position; the next source was used")
        else:
            found.candidates.append(candidate)
    if data.location is not None:
        found.candidates.append(Candidate("manual", data.location.lat, data.location.lon,
                                          data.location.accuracy_m))
    if data.cell is not None:
        cell = await locate_cell(session, data.cell["mcc"], data.cell["mnc"],
                                 data.cell["lac"], data.cell["cid"])
        if cell is None:
            found.warnings.append("cell: the serving cell is not in the cell table")
        else:
            found.candidates.append(Candidate("cell", cell.lat, cell.lon, cell.radius_m))
    if data.address:
        hit = await geocode_address(session, data.address)
        if hit is None:
            found.warnings.append("address: no confident match in the areas or gazetteer")
        else:
            found.candidates.append(Candidate("address", hit.lat, hit.lon, hit.radius_m))
    return found


def add_pending_aml(found: Locating, pending: list[dict[str, Any]]) -> None:
    """AML that reached the center before the operator registered the call (newest
    first), placed after the request's own AML so that one wins a tie."""
    candidates = []
    for message in pending:
        message_id = uuid.UUID(message["id"])
        found.matched_aml_messages.append(message_id)
        candidate = aml_candidate(parse_aml(message["raw"]))
        if candidate is not None:
            candidates.append(replace(candidate, aml_message_id=message_id))
    own_aml = sum(1 for c in found.candidates if c.source == "aml")
    found.candidates[own_aml:own_aml] = candidates


def call_view(
    call: Call,
    *,
    operator: str | None,
    incident: dict[str, Any] | None,
    duplicates: list[dict[str, Any]],
    repeat_count: int,
) -> dict[str, Any]:
    return {
        "id": str(call.id),
        "received_at": call.received_at.isoformat(),
        "caller_number": call.caller_number,
        "channel": call.channel,
        "operator": operator,
        "location": location_view(call),
        "area": call.area,
        "in_service_area": call.in_service_area,
        "possible_duplicates": duplicates,
        "incident": incident,
        "incident_id": str(call.incident_id) if call.incident_id else None,
        "location_warnings": list(call.location_warnings or []),
        "repeat_caller": {"prank_or_ghost_24h": repeat_count},
        "disposition": call.disposition,
    }


async def register_call(
    session: AsyncSession, actor: Actor, areas: AreaIndex, data: CallInput
) -> dict[str, Any]:
    """The intake: four round trips on the common path (BEGIN, the reads, one statement
    writing every row and event, COMMIT)."""
    now = datetime.now(UTC)
    received_at = data.received_at or now
    caller = normalise_number(data.caller_number, actor.settings.phone_region)
    category = category_or_invalid(actor, data.category) if data.category else None
    linked: Incident | None = None
    if data.link_incident_id is not None:
        linked = await get_incident(session, data.link_incident_id, for_update=True)
        if linked.status == "closed":
            raise Conflict("the incident to link is closed", status_now=linked.status)

    locating = await gather_candidates(session, data)
    first_choice = choose(locating.candidates)
    provisional = locate(areas, first_choice)
    numbered = category is not None and linked is None
    reads = await intake_reads(session, actor, caller, numbered=numbered,
                               category=category.code if category else None,
                               located=provisional, now=now)
    add_pending_aml(locating, reads.pending_aml)
    chosen = choose(locating.candidates)
    located = provisional if chosen is first_choice else locate(areas, chosen)
    if chosen is not None and located is not None and located.area is None:
        locating.warnings.append("the position is outside the service area")
    duplicates = reads.duplicates
    if category is not None and located != provisional:  # an earlier AML moved it
        duplicates = await possible_duplicates(session, actor, category.code, located, now)

    call = new_call(actor, data, caller, received_at, now, located, locating.warnings)
    records = NewRecords(calls=[call], candidates=new_candidates(call.id, locating, chosen),
                         aml_message_ids=locating.matched_aml_messages)
    records.events.append(event_row(
        "call.created", actor=actor.name, entity="call", entity_id=call.id,
        after={"caller_number": caller, "location_source": call.location_source,
               "category": data.category}))
    incident_out = None
    if numbered:
        number = await next_incident_number(session, actor.settings, received_at,
                                            drawn=reads.number_value)
        incident = plan_incident(actor, number=number, category=category,  # type: ignore[arg-type]
                                 priority=data.priority, description=data.description,
                                 located=located, now=now)
        call.incident_id = incident.id
        records.incidents.append(incident)
        records.assignments += incident.assignments
        incident_out = incident_view(incident, [call.id])
        records.events += opening_events(incident, actor, [call.id], view=incident_out)
    await batch_write.write(session, records)
    if linked is not None:
        incident_out = await link_call(session, actor, call, linked)
    return call_view(call, operator=actor.name, incident=incident_out, duplicates=duplicates,
                     repeat_count=reads.repeat_count)


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
        call.location = point_element(located.lon, located.lat)
        call.location_source = located.source
        call.accuracy_m = located.accuracy_m
        call.area_code = located.area_code
        call.area = located.area
    return call


def new_candidates(
    call_id: uuid.UUID, locating: Locating, chosen: Candidate | None
) -> list[LocationCandidate]:
    return [
        LocationCandidate(
            id=uuid.uuid4(), call_id=call_id, source=candidate.source,
            geom=point_element(candidate.lon, candidate.lat),
            accuracy_m=candidate.accuracy_m, confidence_pct=candidate.confidence_pct,
            fix_time=candidate.fix_time, chosen=candidate is chosen,
            aml_message_id=candidate.aml_message_id,
        )
        for candidate in locating.candidates
    ]


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


async def get_call(session: AsyncSession, call_id: uuid.UUID) -> Call:
    call = await session.get(Call, call_id)
    if call is None:
        raise NotFound("no such call")
    return call


async def _operator_name(session: AsyncSession, user_id: uuid.UUID | None) -> str | None:
    if user_id is None:
        return None
    return await session.scalar(select(User.username).where(User.id == user_id))


async def read_call(session: AsyncSession, call_id: uuid.UUID) -> dict[str, Any]:
    call = await get_call(session, call_id)
    incident = None
    if call.incident_id is not None:
        found = await get_incident(session, call.incident_id)
        incident = incident_view(found, await call_ids_of(session, found.id))
    return call_view(
        call, operator=await _operator_name(session, call.operator_id), incident=incident,
        duplicates=[], repeat_count=await repeat_caller(session, call.caller_number,
                                                        datetime.now(UTC)),
    )


async def list_calls(
    session: AsyncSession, *, since: datetime | None, until: datetime | None,
    disposition: str | None, limit: int, cursor: str | None,
) -> dict[str, Any]:
    """Newest first, keyset-paginated."""
    query = select(Call, User.username).outerjoin(User, User.id == Call.operator_id)
    if since is not None:
        query = query.where(Call.received_at >= since)
    if until is not None:
        query = query.where(Call.received_at < until)
    if disposition is not None:
        query = query.where(Call.disposition == disposition)
    if cursor:
        at, row_id = decode_cursor(cursor)
        query = query.where(tuple_(Call.received_at, Call.id) < tuple_(at, row_id))
    rows = (await session.execute(
        query.order_by(Call.received_at.desc(), Call.id.desc()).limit(limit + 1)
    )).all()
    page = rows[:limit]
    items = [call_view(c, operator=name, incident=None, duplicates=[], repeat_count=0)
             for c, name in page]
    for item in items:
        del item["possible_duplicates"], item["repeat_caller"], item["incident"]
    next_cursor = encode_cursor(page[-1][0].received_at, page[-1][0].id) if len(rows) > limit \
        else None
    return {"items": items, "next_cursor": next_cursor}


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
    chosen_category = category_or_invalid(actor, category)  # type: ignore[arg-type]
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

"""AML arriving apart from the voice call (POST /v1/aml): stored always, matched by
caller number to a call within the window, and applied without ever silently
overwriting a location the operator typed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.actor import Actor
from dispatch.calls.input import normalise_number
from dispatch.core.errors import Invalid
from dispatch.core.events import append_event
from dispatch.core.geodesy import haversine_m
from dispatch.incidents.changes import update_incident
from dispatch.incidents.events import emit
from dispatch.incidents.location import Located, locate, set_location
from dispatch.incidents.reads import get_incident
from dispatch.models import Call
from geo.aml import parse_aml
from geo.areas import AreaIndex
from geo.locate import aml_candidate, late_aml_replaces
from geo.models import AmlMessage, LocationCandidate
from geo.points import lon_lat, point_element


async def receive_aml(
    session: AsyncSession, actor: Actor, areas: AreaIndex, raw: str,
    caller_hint: str | None, *, hmac_key: bytes | None = None,
) -> dict[str, Any]:
    """Store and (if possible) apply one AML message; never raises for bad content."""
    now = datetime.now(UTC)
    fix = parse_aml(raw, hmac_key=hmac_key)
    caller = None
    for candidate_number in (fix.caller_number, caller_hint):
        if candidate_number:
            try:
                caller = normalise_number(candidate_number, actor.settings.phone_region)
                break
            except Invalid:
                continue
    message = AmlMessage(id=uuid.uuid4(), received_at=now, transport=fix.transport, raw=raw,
                         caller_number=caller, parsed=fix.to_dict(), warnings=list(fix.warnings))
    session.add(message)
    await session.flush()
    warnings = list(fix.warnings)
    outcome: dict[str, Any] = {"id": str(message.id), "stored": True, "matched_call_id": None,
                               "applied": False, "warnings": warnings}
    candidate = aml_candidate(fix)
    if caller is None:
        warnings.append("no caller number: kept until a call can claim it")
        return outcome
    window = timedelta(seconds=actor.settings.aml_match_window_s)
    call = await session.scalar(
        # a call closed as prank or ghost is over: a new AML belongs to the next call
        select(Call).where(Call.caller_number == caller, Call.received_at >= now - window,
                           Call.disposition.is_(None))
        .order_by(Call.received_at.desc()).limit(1).with_for_update()
    )
    if call is None:
        return outcome  # a call registered later picks it up (dispatch.calls)
    message.call_id = call.id
    outcome["matched_call_id"] = str(call.id)
    if candidate is None:
        return outcome
    session.add(LocationCandidate(
        id=uuid.uuid4(), call_id=call.id, source="aml",
        geom=point_element(candidate.lon, candidate.lat),
        accuracy_m=candidate.accuracy_m, confidence_pct=candidate.confidence_pct,
        fix_time=candidate.fix_time, aml_message_id=message.id, chosen=False,
    ))
    located = locate(areas, candidate)
    if late_aml_replaces(call.location_source):
        await _apply_to_call(session, actor, call, located)
        outcome["applied"] = True
    elif call.incident_id is not None and call.location is not None:
        lon, lat = lon_lat(call.location)
        apart = haversine_m(lat, lon, candidate.lat, candidate.lon)
        incident = await get_incident(session, call.incident_id, for_update=True)
        await emit(session, "incident.updated", incident, actor,
                   after={"aml_candidate": {"lat": candidate.lat, "lon": candidate.lon,
                                            "accuracy_m": candidate.accuracy_m,
                                            "distance_from_current_m": round(apart, 1)}})
        outcome["distance_from_operator_location_m"] = round(apart, 1)
    return outcome


async def _apply_to_call(
    session: AsyncSession, actor: Actor, call: Call, located: Located
) -> None:
    before = call.location_source
    set_location(call, located)  # located from the AML: its source is "aml"
    call.in_service_area = located.area is not None
    call.updated_at = datetime.now(UTC)
    await append_event(session, "call.location_updated", actor=actor.name, entity="call",
                       entity_id=call.id, before={"location_source": before},
                       after={"location_source": "aml"})
    if call.incident_id is not None:
        await update_incident(session, call.incident_id, actor, changes={}, located=located)

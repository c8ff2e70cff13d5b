"""What admins, agencies, operators and supervisors do to units: register one, change its
status, send it to an incident. Each change is one transaction with its event (the
actor, the time, the status before and after); a status change of a unit on an incident
is in that incident's timeline too."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agencies.models import Agency
from dispatch import batch_write
from dispatch.actor import Actor
from dispatch.assignments.actions import ensure_assignment
from dispatch.core.errors import Conflict, Invalid, NotFound
from dispatch.core.events import append_row
from dispatch.incidents.reads import get_incident, visible_incident
from dispatch.incidents.views import current_view
from dispatch.units.lifecycle import (
    AVAILABLE,
    DISPATCHABLE,
    DISPATCHED,
    ON_INCIDENT,
    UNIT_KINDS,
    IllegalUnitTransition,
    check_transition,
)
from dispatch.units.model import MIN_DEVICE_ID_LENGTH, Unit
from dispatch.units.views import unit_event, unit_view


@dataclass(frozen=True)
class UnitSpec:
    """What an admin says of a unit (PUT /v1/units/{code})."""

    agency_code: str
    kind: str
    name: str
    device_id: str | None = None


async def find_unit(session: AsyncSession, code: str, *, only_agency: str | None = None,
                    for_update: bool = False) -> Unit:
    """A unit; another agency's unit is a 404 for an agency account."""
    query = select(Unit).where(Unit.code == code)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    unit = await session.scalar(query)
    if unit is None or (only_agency is not None and unit.agency_code != only_agency):
        raise NotFound(f"no unit with code {code}")
    return unit


async def put_unit(session: AsyncSession, code: str, spec: UnitSpec,
                   actor: Actor) -> tuple[dict[str, Any], bool]:
    """Create or replace a unit's registration; True when created. A unit on an incident
    keeps its agency (409) until it is free."""
    if spec.kind not in UNIT_KINDS:
        raise Invalid(f"kind must be one of {', '.join(UNIT_KINDS)}", field="kind")
    if spec.device_id is not None and len(spec.device_id) < MIN_DEVICE_ID_LENGTH:
        raise Invalid(f"a device id is at least {MIN_DEVICE_ID_LENGTH} characters (it is the "
                      "tracker's only credential)", field="device_id")
    if await session.scalar(select(Agency.id).where(Agency.code == spec.agency_code)) is None:
        raise Invalid(f"there is no agency with code {spec.agency_code}", field="agency_code")
    if spec.device_id is not None:
        holder = await session.scalar(select(Unit.code).where(
            Unit.device_id == spec.device_id, Unit.code != code))
        if holder is not None:
            raise Conflict("that device id is registered on another unit")
    unit = await session.scalar(select(Unit).where(Unit.code == code).with_for_update())
    created = unit is None
    before = None
    if unit is None:
        unit = Unit(code=code, status=AVAILABLE)
        session.add(unit)
    else:
        before = {"agency_code": unit.agency_code, "kind": unit.kind, "name": unit.name}
        if unit.agency_code != spec.agency_code and unit.status in ON_INCIDENT:
            raise Conflict("the unit is on an incident: move it to another agency when free",
                           status_now=unit.status)
    unit.agency_code, unit.kind, unit.name = spec.agency_code, spec.kind, spec.name
    unit.device_id = spec.device_id
    unit.updated_at = datetime.now(UTC)
    await session.flush()
    await session.refresh(unit)
    view = unit_view(unit)
    after = {"agency_code": unit.agency_code, "kind": unit.kind, "name": unit.name,
             "tracker": unit.device_id is not None}
    await append_row(session, unit_event("unit.created" if created else "unit.updated", view,
                                         actor=actor.name, before=before, after=after,
                                         feed=False))
    return view, created


async def change_unit_status(
    session: AsyncSession, code: str, requested: str, actor: Actor, *,
    only_agency: str | None,
) -> dict[str, Any]:
    """A status the unit reports (en route, on scene, transporting, ...). Returning,
    available or out of service, it leaves its incident (the event still names it)."""
    if requested == DISPATCHED:
        raise Invalid("a unit is dispatched by sending it to an incident: "
                      "POST /v1/incidents/{id}/units", field="status")
    unit = await find_unit(session, code, only_agency=only_agency, for_update=True)
    try:
        check_transition(unit.status, requested)
    except IllegalUnitTransition as exc:
        raise Conflict(str(exc), status_now=exc.current) from None
    return await _set_status(session, unit, requested, actor)


async def dispatch_unit(
    session: AsyncSession, incident_id: uuid.UUID, code: str, actor: Actor, *,
    only_agency: str | None,
) -> dict[str, Any]:
    """Send a free unit to an incident: its agency's assignment there is made when
    missing, and the unit becomes `dispatched`. Locks the incident, then the unit."""
    # An agency sends its units only to incidents assigned to it (others are a 404, as for
    # reading them): sending one must not be a way onto another agency's incident.
    incident = await visible_incident(session, incident_id, only_agency=only_agency,
                                      for_update=True)
    unit = await find_unit(session, code, only_agency=only_agency, for_update=True)
    if unit.status not in DISPATCHABLE:
        raise Conflict(f"the unit is {unit.status}: only an available or returning unit "
                       "can be sent", status_now=unit.status)
    await ensure_assignment(session, incident, unit.agency_code, actor)
    unit.incident_id = incident.id
    return await _set_status(session, unit, DISPATCHED, actor)


async def _set_status(session: AsyncSession, unit: Unit, status: str,
                      actor: Actor) -> dict[str, Any]:
    previous, incident_id = unit.status, unit.incident_id
    unit.status = status
    if status not in ON_INCIDENT:  # available, returning, out of service: free of it
        unit.incident_id = None
    unit.updated_at = datetime.now(UTC)
    await session.flush()
    view = unit_view(unit)
    incident = None
    if incident_id is not None:
        incident = await current_view(session, await get_incident(session, incident_id))
    event = unit_event("unit.status", view, actor=actor.name, incident_id=incident_id,
                       incident=incident, before={"status": previous},
                       after={"status": status})
    await batch_write.write(session, batch_write.NewRecords(events=[event]))
    return view

"""Incidents: numbering, opening and routing, status, re-routing and closing.

Every change appends events in the same transaction. Events of the contract's feed types
carry a `payload` (the incident and assignment as of that moment); the live feeds send
exactly those."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from agencies.assignments import (
    agencies_by_code,
    apply_transition,
    assignment_view,
    excluded_agencies,
    new_assignment,
)
from agencies.lifecycle import CANCELLED, OPEN_STATES, incident_status
from agencies.models import Agency, Assignment
from agencies.registry import AgencyDirectory, CategoryRule
from agencies.routing import RouteDecision
from dispatch import batch_write
from dispatch.batch_write import NewRecords
from dispatch.errors import Conflict, Invalid, NotFound
from dispatch.events import append_row, event_row
from dispatch.models import Call, Incident
from dispatch.settings import Settings
from geo.points import lon_lat, point_element


@dataclass(frozen=True)
class Actor:
    """Who does something, and what the process knows that the domain needs."""

    name: str
    settings: Settings
    agencies: AgencyDirectory
    user_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Located:
    """A chosen position with the area it falls in (area is None outside the region)."""

    lat: float
    lon: float
    accuracy_m: float | None
    source: str
    area_code: str | None
    area: dict[str, Any] | None


def _now() -> datetime:
    return datetime.now(UTC)


# Immutable once written, so safe to cache; keyed by database too (tests use several).
_DAY_BASES: dict[tuple[str, str, date], int] = {}
_DAY_BASE_LOCK = asyncio.Lock()


async def _day_base(settings: Settings, region: str, day: date) -> int:
    """The day's base, created on first use and committed on a connection of its own, so
    that it is fixed before any number is derived from it. That connection is not taken
    from the pool: every pooled connection may be held by an intake waiting for this base
    (at local midnight under load), and one process opens at most one at a time."""
    key = (settings.database_url, region, day)
    cached = _DAY_BASES.get(key)
    if cached is not None:
        return cached
    async with _DAY_BASE_LOCK:
        if key not in _DAY_BASES:
            conn = await asyncpg.connect(settings.sync_database_url,
                                         timeout=settings.db_connect_timeout_s)
            try:
                await conn.execute(
                    """INSERT INTO incident_days (region, local_date, base)
                       VALUES ($1, $2, nextval('incident_number_seq'))
                       ON CONFLICT DO NOTHING""", region, day)
                _DAY_BASES[key] = int(await conn.fetchval(
                    "SELECT base FROM incident_days WHERE region = $1 AND local_date = $2",
                    region, day))
            finally:
                await conn.close()
    return _DAY_BASES[key]


async def next_incident_number(
    session: AsyncSession, settings: Settings, received_at: datetime, *,
    drawn: int | None = None,
) -> str:
    """`MJK-YYYYMMDD-NNNN` per region and local day. nextval never blocks and never hands
    out a value twice, and the day's base never changes, so numbers are unique without a
    lock. `drawn` is a value the caller took already (in a query it needed anyway); one
    taken before the day's base existed (≤ base) is simply drawn again."""
    region = settings.region_prefix
    local_day = received_at.astimezone(settings.zone).date()
    base = await _day_base(settings, region, local_day)
    value = drawn
    while value is None or value <= base:
        value = await session.scalar(text("SELECT nextval('incident_number_seq')"))
    return f"{region}-{local_day:%Y%m%d}-{value - base:04d}"


def location_view(row: Incident | Call) -> dict[str, Any] | None:
    if row.location is None:
        return None
    lon, lat = lon_lat(row.location)
    return {
        "lat": lat,
        "lon": lon,
        "accuracy_m": row.accuracy_m,
        "source": row.location_source,
    }


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
        "created_at": incident.created_at.isoformat(),
        "updated_at": incident.updated_at.isoformat(),
        "closed_at": incident.closed_at and incident.closed_at.isoformat(),
        "call_ids": [str(c) for c in (call_ids or [])],
        "assignments": [assignment_view(a) for a in incident.assignments],
    }


async def call_ids_by_incident(
    session: AsyncSession, incident_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The calls of many incidents in one query (oldest call first)."""
    found: dict[uuid.UUID, list[uuid.UUID]] = {i: [] for i in incident_ids}
    if incident_ids:
        rows = await session.execute(
            select(Call.incident_id, Call.id)
            .where(Call.incident_id.in_(incident_ids))
            .order_by(Call.received_at, Call.id)
        )
        for incident_id, call_id in rows:
            found[incident_id].append(call_id)
    return found


async def call_ids_of(session: AsyncSession, incident_id: uuid.UUID) -> list[uuid.UUID]:
    return (await call_ids_by_incident(session, [incident_id]))[incident_id]


def category_or_invalid(actor: Actor, code: str) -> CategoryRule:
    """An active category, from the process's directory (no query on the hot path)."""
    category = actor.agencies.categories.get(code)
    if category is None:
        raise Invalid(f"unknown category {code!r}: see GET /v1/categories", field="category")
    return category


def _set_location(incident: Incident, located: Located | None) -> None:
    if located is None:
        incident.location = None
        incident.location_source = incident.accuracy_m = None
        incident.area_code = incident.area = None
        return
    incident.location = point_element(located.lon, located.lat)
    incident.location_source = located.source
    incident.accuracy_m = located.accuracy_m
    incident.area_code = located.area_code
    incident.area = located.area


def _point_of(incident: Incident) -> tuple[float | None, float | None]:
    if incident.location is None:
        return None, None
    lon, lat = lon_lat(incident.location)
    return lat, lon


def incident_event(
    type: str,
    incident: Incident,
    actor: Actor,
    *,
    call_ids: list[uuid.UUID],
    assignment: Assignment | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    feed: bool = True,
    view: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One event about an incident (and perhaps one of its assignments). The agency codes
    say which agency feeds carry it: the assignment's agency, or every agency with an
    assignment on the incident for incident-wide events. `view`: the incident's view as
    of now, when the caller has built it already (it is only read)."""
    if assignment is not None:
        codes = [assignment.agency.code]
    else:
        codes = sorted({a.agency.code for a in incident.assignments})
    payload = None
    if feed:
        payload = {
            "incident": view if view is not None else incident_view(incident, call_ids),
            "assignment": assignment_view(assignment) if assignment is not None else None,
        }
    return event_row(
        type,
        actor=actor.name,
        entity="assignment" if assignment is not None else "incident",
        entity_id=assignment.id if assignment is not None else incident.id,
        incident_id=incident.id,
        assignment_id=assignment.id if assignment is not None else None,
        agency_codes=codes,
        before=before,
        after=after,
        payload=payload,
    )


async def emit(
    session: AsyncSession,
    type: str,
    incident: Incident,
    actor: Actor,
    *,
    assignment: Assignment | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    call_ids: list[uuid.UUID] | None = None,
    feed: bool = True,
) -> int:
    """Append one incident_event now; returns its seq."""
    # One lookup per incident and transaction: an action emitting several events (a
    # decline and its re-route, a re-route cancelling several) reuses it.
    known: dict[uuid.UUID, list[uuid.UUID]] = session.info.setdefault("call_ids", {})
    if call_ids is None:
        call_ids = known.get(incident.id)
        if call_ids is None:
            call_ids = await call_ids_of(session, incident.id)
    known[incident.id] = call_ids
    return await append_row(session, incident_event(
        type, incident, actor, call_ids=call_ids, assignment=assignment, before=before,
        after=after, feed=feed))


def refresh_status(incident: Incident, now: datetime) -> None:
    new_status = incident_status((a.status for a in incident.assignments),
                                 closed=incident.closed_at is not None)
    if new_status != incident.status:
        incident.status = new_status
    incident.updated_at = now


def plan_assignments(
    incident: Incident,
    decisions: list[RouteDecision],
    actor: Actor,
    now: datetime,
    agencies: Mapping[str, Agency],
    *,
    reason_override: str | None = None,
) -> list[Assignment]:
    """One queued assignment per routed decision, added to `incident.assignments`
    (unroutable kinds are skipped and left to the supervisor's manual assignment)."""
    created = []
    for decision in decisions:
        if decision.agency_code is None:
            continue
        assignment = new_assignment(
            incident_id=incident.id,
            agency=agencies[decision.agency_code],
            kind=decision.kind,
            reason=reason_override or decision.reason,
            distance_m=decision.distance_m,
            priority=incident.priority,
            now=now,
            ack_timeout_s=actor.settings.ack_timeout_for(incident.priority),
        )
        incident.assignments.append(assignment)
        created.append(assignment)
    return created


async def assign_decisions(
    session: AsyncSession,
    incident: Incident,
    decisions: list[RouteDecision],
    actor: Actor,
    now: datetime,
    *,
    reason_override: str | None = None,
) -> list[Assignment]:
    """plan_assignments for an incident held by the session (re-routing, declines)."""
    codes = [d.agency_code for d in decisions if d.agency_code is not None]
    agencies = await agencies_by_code(session, codes)
    created = plan_assignments(incident, decisions, actor, now, agencies,
                               reason_override=reason_override)
    session.add_all(created)
    return created


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
    _set_location(incident, located)
    lat, lon = (located.lat, located.lon) if located else (None, None)
    decisions = actor.agencies.index.route(category.agency_kinds, lat, lon)
    agencies = {d.agency_code: actor.agencies.agency(d.agency_code)
                for d in decisions if d.agency_code is not None}
    plan_assignments(incident, decisions, actor, now, agencies)
    refresh_status(incident, now)
    return incident


def opening_events(incident: Incident, actor: Actor, call_ids: list[uuid.UUID],
                   view: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """incident.created (audit only), then assignment.created for each agency's feed,
    all carrying one incident view (`view`, or built here)."""
    view = view if view is not None else incident_view(incident, call_ids)
    events = [incident_event(
        "incident.created", incident, actor, call_ids=call_ids, feed=False,
        after={"number": incident.number, "category": incident.category,
               "priority": incident.priority, "call_ids": [str(c) for c in call_ids]})]
    events += [incident_event("assignment.created", incident, actor, call_ids=call_ids,
                              assignment=assignment, view=view)
               for assignment in incident.assignments]
    return events


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
        now=_now())
    call_ids = [c.id for c in calls]
    await batch_write.write(session, NewRecords(
        incidents=[incident], assignments=list(incident.assignments),
        events=opening_events(incident, actor, call_ids)))
    session.info.setdefault("call_ids", {})[incident.id] = call_ids
    for call in calls:
        call.incident_id = incident.id
    return incident


async def get_incident(
    session: AsyncSession, incident_id: uuid.UUID, *, for_update: bool = False
) -> Incident:
    query = select(Incident).where(Incident.id == incident_id)
    if for_update:
        query = query.with_for_update(of=Incident)
    incident = await session.scalar(query)
    if incident is None:
        raise NotFound("no such incident")
    return incident


async def reroute(
    session: AsyncSession, incident: Incident, actor: Actor, now: datetime
) -> list[Assignment]:
    """After a new category or location: cancel open assignments whose agency is no longer
    the one routing picks for its kind, and create the missing ones (reason `reroute`)."""
    category = category_or_invalid(actor, incident.category)
    lat, lon = _point_of(incident)
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
    now = _now()
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
        _set_location(incident, located)
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


async def close_incident(
    session: AsyncSession, incident_id: uuid.UUID, actor: Actor, *, resolution: str
) -> Incident:
    incident = await get_incident(session, incident_id, for_update=True)
    if incident.status == "closed":
        raise Conflict("the incident is already closed", status_now=incident.status)
    now = _now()
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
    return incident


def next_decision_after_decline(
    incident: Incident, assignment: Assignment, actor: Actor
) -> RouteDecision:
    lat, lon = _point_of(incident)
    exclude = excluded_agencies(incident.assignments, assignment.kind)
    return actor.agencies.index.next_for_kind(assignment.kind, lat, lon, exclude=exclude)

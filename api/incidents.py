"""Incidents: read, edit, assign manually, close, notes, merge and unmerge."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.auth import require
from api.deps import actor_for, agency_scope, area_index, unit_of_work
from api.fast_json import orjson_response
from api.problems import problem_responses
from api.responses import Incident, IncidentDetail, IncidentPage, NearbyIncidents, Note
from api.schemas import CloseIn, IncidentPatch, ManualAssignmentIn, MergeIn, NoteIn
from dispatch.accounts.tokens import Principal
from dispatch.assignments.actions import manual_assignment
from dispatch.calls.input import ManualLocation
from dispatch.incidents import changes as incident_changes
from dispatch.incidents import merging
from dispatch.incidents import queries as incident_queries
from dispatch.incidents.nearby import MAX_RADIUS_M, incidents_nearby
from dispatch.incidents.notes import add_note

router = APIRouter(prefix="/v1/incidents", tags=["incidents"],
                   responses=problem_responses(401, 403, 422, 429, 503))
Operator = Annotated[Principal, Depends(require("operator", "supervisor"))]
Reader = Annotated[Principal, Depends(require("operator", "supervisor", "admin", "agency"))]
CHANGES = problem_responses(400, 404, 409, 413)


@router.get("", response_model=IncidentPage)
async def list_incidents(
    request: Request,
    principal: Reader,
    status: str | None = None,
    category: str | None = None,
    agency: str | None = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> Response:
    """Incidents, newest first, a page at a time; an agency account sees only those
    assigned to it."""
    # A hot path: orjson-encoded, not re-validated.
    async with unit_of_work(request) as session:
        page = await incident_queries.list_incidents(
            session, status=status, category=category, agency=agency, since=since,
            limit=limit, cursor=cursor, only_agency=agency_scope(principal),
        )
    return orjson_response(page)


@router.get("/nearby")
async def list_incidents_nearby(
    request: Request,
    principal: Reader,
    lat: float,
    lon: float,
    radius_m: Annotated[float | None, Query(gt=0, le=MAX_RADIUS_M)] = None,
    category: str | None = None,
) -> NearbyIncidents:
    """Open incidents near a point, nearest first, of one category or of any (the radius
    defaults to the possible-duplicates radius). An agency sees only its own."""
    radius = radius_m or request.app.state.settings.duplicate_radius_m
    async with unit_of_work(request) as session:
        return NearbyIncidents.model_validate(await incidents_nearby(
            session, lat=lat, lon=lon, radius_m=radius, category=category,
            only_agency=agency_scope(principal)))


@router.get("/{incident_id}", responses=problem_responses(404))
async def read_incident(
    request: Request, incident_id: uuid.UUID, principal: Reader
) -> IncidentDetail:
    """One incident with its timeline (its events, oldest first)."""
    async with unit_of_work(request) as session:
        return IncidentDetail.model_validate(await incident_queries.read_incident(
            session, incident_id, only_agency=agency_scope(principal)
        ))


@router.patch("/{incident_id}", responses=CHANGES)
async def update_incident(
    request: Request, incident_id: uuid.UUID, body: IncidentPatch, principal: Operator
) -> Incident:
    """Change category, priority, location or description; a new category or location
    re-routes (new assignments made, obsolete ones cancelled)."""
    changes = body.model_dump(exclude_unset=True, exclude={"location"})
    location = None if body.location is None else ManualLocation(**body.location.model_dump())
    async with unit_of_work(request) as session:
        actor = await actor_for(request, principal, session)
        areas = await area_index(request, session)
        return Incident.model_validate(await incident_changes.patch_incident(
            session, actor, areas, incident_id, changes=changes, location=location))


@router.post("/{incident_id}/assignments", status_code=201, responses=CHANGES)
async def assign_agency(
    request: Request,
    incident_id: uuid.UUID,
    body: ManualAssignmentIn,
    principal: Annotated[Principal, Depends(require("supervisor"))],
) -> Incident:
    """A supervisor assigns an agency by hand; answers the incident."""
    async with unit_of_work(request) as session:
        actor = await actor_for(request, principal, session)
        return Incident.model_validate(
            await manual_assignment(session, incident_id, body.agency_code, actor))


@router.post("/{incident_id}/close", responses=CHANGES)
async def close_incident(
    request: Request, incident_id: uuid.UUID, body: CloseIn, principal: Operator
) -> Incident:
    """Close with a resolution; open assignments are cancelled."""
    async with unit_of_work(request) as session:
        actor = await actor_for(request, principal, session)
        return Incident.model_validate(await incident_changes.close_incident(
            session, incident_id, actor, resolution=body.resolution))


@router.post("/{incident_id}/notes", status_code=201, responses=CHANGES)
async def add_incident_note(
    request: Request,
    incident_id: uuid.UUID,
    body: NoteIn,
    principal: Annotated[Principal, Depends(require("operator", "supervisor", "agency"))],
) -> Note:
    """Append a note (append-only: a correction is a new note). An agency may write only
    on incidents assigned to it; a closed incident takes notes, a merged one does not
    (409: write on the incident it was merged into)."""
    async with unit_of_work(request) as session:
        actor = await actor_for(request, principal, session)
        return Note.model_validate(await add_note(
            session, incident_id, actor, text=body.text, role=principal.role,
            agency_code=agency_scope(principal)))


@router.post("/{incident_id}/merge", responses=CHANGES)
async def merge_incident(
    request: Request, incident_id: uuid.UUID, body: MergeIn, principal: Operator
) -> Incident:
    """Merge this incident into `into_incident_id`; answers the surviving incident. Its
    calls and notes move there, its open assignments move too or, where the survivor's
    agency already holds one, are cancelled; it is closed as "merged". Into itself: 422;
    from or into a closed incident: 409."""
    async with unit_of_work(request) as session:
        actor = await actor_for(request, principal, session)
        return Incident.model_validate(await merging.merge_incident(
            session, incident_id, body.into_incident_id, actor))


@router.post("/{incident_id}/unmerge", responses=problem_responses(404, 409))
async def unmerge_incident(
    request: Request, incident_id: uuid.UUID, principal: Operator
) -> Incident:
    """Undo the merge of this incident: what moved goes back, what the merge cancelled is
    restored, the incident reopens; answers it. 409 when it is not merged or the incident
    it was merged into has been closed since."""
    async with unit_of_work(request) as session:
        actor = await actor_for(request, principal, session)
        return Incident.model_validate(await merging.unmerge_incident(
            session, incident_id, actor))

"""Agencies, categories, queues and assignment actions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from agencies import categories, registry
from api.auth import require
from api.deps import actor_for, agency_scope, unit_of_work
from api.fast_json import orjson_response
from api.problems import problem_responses
from api.responses import Agency, Assignment, AssignmentPage, Category
from api.schemas import AgencyIn, CategoryIn, StatusIn
from dispatch.accounts.tokens import Principal
from dispatch.assignments.actions import change_assignment_status
from dispatch.assignments.records import read_agency_queue
from dispatch.core.errors import NotFound

router = APIRouter(tags=["agencies"], responses=problem_responses(401, 403, 429, 503))
Admin = Annotated[Principal, Depends(require("admin"))]
AgencyOrSupervisor = Annotated[Principal, Depends(require("agency", "supervisor"))]
Reader = Annotated[Principal, Depends(require("operator", "supervisor", "admin", "agency"))]


def _own_agency_only(principal: Principal, code: str) -> None:
    """An agency account asking about another agency gets 404, as if it did not exist."""
    scope = agency_scope(principal)
    if scope is not None and scope != code:
        raise NotFound(f"no agency with code {code}")


@router.get("/v1/agencies", response_model=list[Agency])
async def list_agencies(request: Request, principal: Reader) -> Response:
    """Every agency, by code."""
    # orjson-encoded, not re-validated: the coverages are large.
    async with unit_of_work(request) as session:
        agencies = await registry.list_agencies(session)
    return orjson_response(agencies)


@router.get("/v1/agencies/{code}", responses=problem_responses(404, 422))
async def read_agency(request: Request, code: str, principal: Reader) -> Agency:
    """One agency."""
    async with unit_of_work(request) as session:
        return Agency.model_validate(await registry.read_agency(session, code))


@router.put("/v1/agencies/{code}", responses={
    201: {"model": Agency, "description": "Created"}, **problem_responses(400, 409, 413, 422)})
async def save_agency(
    request: Request, code: str, body: AgencyIn, principal: Admin, response: Response
) -> Agency:
    """Create (201) or replace (200) an agency."""
    async with unit_of_work(request) as session:
        view, created = await registry.put_agency(
            session, code, body.model_dump(), actor=principal.username
        )
        saved = Agency.model_validate(view)
    request.app.state.agency_cache.invalidate()  # this process sees it at once
    response.status_code = 201 if created else 200
    return saved


@router.get("/v1/categories")
async def list_categories(request: Request, principal: Reader) -> list[Category]:
    """Every incident category, by code."""
    async with unit_of_work(request) as session:
        return [Category.model_validate(c) for c in await categories.list_categories(session)]


@router.put("/v1/categories/{code}", responses={
    201: {"model": Category, "description": "Created"}, **problem_responses(400, 413, 422)})
async def save_category(
    request: Request, code: str, body: CategoryIn, principal: Admin, response: Response
) -> Category:
    """Create (201) or replace (200) an incident category."""
    async with unit_of_work(request) as session:
        view, created = await categories.put_category(
            session, code, body.model_dump(), actor=principal.username
        )
        saved = Category.model_validate(view)
    request.app.state.agency_cache.invalidate()
    response.status_code = 201 if created else 200
    return saved


@router.get("/v1/agencies/{code}/queue", response_model=AssignmentPage,
            responses=problem_responses(404, 422))
async def list_agency_queue(
    request: Request, code: str, principal: AgencyOrSupervisor
) -> Response:
    """Open assignments of the agency, priority first, then oldest first."""
    # A hot path (agencies poll it): orjson-encoded, not re-validated.
    _own_agency_only(principal, code)
    async with unit_of_work(request) as session:
        page = await read_agency_queue(session, code)
    return orjson_response(page)


@router.post("/v1/assignments/{assignment_id}/ack",
             responses=problem_responses(404, 409, 422))
async def acknowledge_assignment(
    request: Request, assignment_id: uuid.UUID, principal: AgencyOrSupervisor
) -> Assignment:
    """The owning agency (or a supervisor) acknowledges the assignment."""
    async with unit_of_work(request) as session:
        actor = await actor_for(request, principal, session)
        return Assignment.model_validate(await change_assignment_status(
            session, assignment_id, "acknowledged", actor, agency_code=agency_scope(principal)
        ))


@router.post("/v1/assignments/{assignment_id}/status",
             responses=problem_responses(400, 404, 409, 413, 422))
async def update_assignment_status(
    request: Request, assignment_id: uuid.UUID, body: StatusIn, principal: AgencyOrSupervisor
) -> Assignment:
    """en_route, on_scene, completed or declined; a decline re-routes to the next agency
    of that kind."""
    async with unit_of_work(request) as session:
        actor = await actor_for(request, principal, session)
        return Assignment.model_validate(await change_assignment_status(
            session, assignment_id, body.status, actor, agency_code=agency_scope(principal),
            note=body.note,
        ))

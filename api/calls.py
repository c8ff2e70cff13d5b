"""Calls: the operator's intake."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response

from api.auth import require
from api.deps import actor_for, area_index, unit_of_work
from api.fast_json import orjson_response
from api.problems import problem_responses
from api.responses import Call, CallPage, Incident
from api.schemas import CallIn, CallIncidentIn, DispositionIn
from dispatch.accounts.tokens import Principal
from dispatch.calls import actions, idempotency, intake, queries
from dispatch.calls.input import CallInput, ManualLocation

router = APIRouter(prefix="/v1/calls", tags=["calls"],
                   responses=problem_responses(401, 403, 422, 429, 503))
Operator = Annotated[Principal, Depends(require("operator", "supervisor"))]
Reader = Annotated[Principal, Depends(require("operator", "supervisor", "admin"))]
REPLAYED = {"Idempotent-Replayed": {
    "description": "`true` when this is the stored answer to an earlier request with the "
                   "same Idempotency-Key", "schema": {"type": "string"}}}


def _call_input(body: CallIn) -> CallInput:
    return CallInput(
        caller_number=body.caller_number,
        received_at=body.received_at,
        channel=body.channel,
        aml=body.aml,
        location=ManualLocation(**body.location.model_dump())
        if body.location else None,
        address=body.address,
        cell=body.cell.model_dump() if body.cell else None,
        category=body.category,
        priority=body.priority,
        description=body.description,
        link_incident_id=body.link_incident_id,
    )


@router.post("", status_code=201, response_model=Call,
             responses={201: {"headers": REPLAYED}, **problem_responses(400, 404, 409, 413)})
async def register_call(
    request: Request,
    body: CallIn,
    principal: Operator,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """Register one 112 call; with a category, open and route its incident too. A retry
    with the same Idempotency-Key gets the first answer back and creates nothing."""
    # The hot path: the domain's view goes out orjson-encoded, not re-validated.
    digest = idempotency.request_digest(await request.body())
    user_id = uuid.UUID(principal.user_id)

    async def attempt() -> Response:
        async with unit_of_work(request) as session:
            if idempotency_key:
                stored = await idempotency.replay(session, user_id, idempotency_key, digest)
                if stored is not None:
                    return orjson_response(stored[1], stored[0],
                                           headers={"Idempotent-Replayed": "true"})
            actor = await actor_for(request, principal, session)
            areas = await area_index(request, session)
            result = await intake.register_call(session, actor, areas, _call_input(body))
            if idempotency_key:
                await idempotency.remember(session, user_id, idempotency_key, digest, 201,
                                           result)
        return orjson_response(result, 201)

    if not idempotency_key:
        return await attempt()
    return await idempotency.once_per_key(
        attempt, name=f"{user_id}:{idempotency_key}",
        wait_s=request.app.state.settings.idempotency_wait_s)


@router.get("", response_model=CallPage)
async def list_calls(
    request: Request,
    principal: Reader,
    since: datetime | None = None,
    until: datetime | None = None,
    disposition: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> Response:
    """Calls, newest first, a page at a time."""
    # A hot path: orjson-encoded, not re-validated.
    async with unit_of_work(request) as session:
        page = await queries.list_calls(
            session, since=since, until=until, disposition=disposition, limit=limit,
            cursor=cursor,
        )
    return orjson_response(page)


@router.get("/{call_id}", responses=problem_responses(404))
async def read_call(request: Request, call_id: uuid.UUID, principal: Reader) -> Call:
    """One call with its incident and the caller's recent pranks."""
    async with unit_of_work(request) as session:
        return Call.model_validate(await queries.read_call(session, call_id))


@router.post("/{call_id}/incident", status_code=201,
             responses=problem_responses(400, 404, 409, 413))
async def open_incident_for_call(
    request: Request, call_id: uuid.UUID, body: CallIncidentIn, principal: Operator
) -> Incident:
    """Open and route an incident for the call, or link the call to an open one."""
    async with unit_of_work(request) as session:
        actor = await actor_for(request, principal, session)
        return Incident.model_validate(await actions.incident_for_call(
            session, actor, call_id, category=body.category, priority=body.priority,
            description=body.description, link_incident_id=body.link_incident_id,
        ))


@router.post("/{call_id}/disposition", responses=problem_responses(400, 404, 409, 413))
async def close_call(
    request: Request, call_id: uuid.UUID, body: DispositionIn, principal: Operator
) -> Call:
    """Close a call that has no incident: prank, ghost, info, transferred, abandoned."""
    async with unit_of_work(request) as session:
        actor = await actor_for(request, principal, session)
        return Call.model_validate(
            await actions.close_call(session, actor, call_id, body.disposition, body.note))

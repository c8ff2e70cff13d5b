"""POST /v1/aml: the telco / AML gateway's endpoint. Always 2xx for content (handsets do
not retry usefully): 200 when matched to a call, 202 when stored to wait for one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse

from api.auth import require
from api.deps import actor_for, area_index, unit_of_work
from dispatch.accounts.tokens import Principal
from dispatch.calls.aml_intake import receive_aml

router = APIRouter(tags=["aml"])


@router.post("/v1/aml")
async def post_aml(
    request: Request,
    principal: Annotated[Principal, Depends(require("gateway", "supervisor"))],
    caller_number: Annotated[str | None, Query(max_length=32)] = None,
    x_caller_number: Annotated[str | None, Header(max_length=32)] = None,
) -> JSONResponse:
    """Body: the raw SMS text (text/plain) or the HTTPS form (urlencoded). The SMS relay
    names the sender with `?caller_number=` or `X-Caller-Number`."""
    raw = (await request.body()).decode("utf-8", errors="replace")
    async with unit_of_work(request) as session:
        actor = await actor_for(request, principal, session)
        areas = await area_index(request, session)
        outcome = await receive_aml(session, actor, areas, raw, caller_number or x_caller_number)
    return JSONResponse(outcome, status_code=200 if outcome["matched_call_id"] else 202)

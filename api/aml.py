"""POST /v1/aml: the telco / AML gateway's endpoint. Always 2xx for content (handsets do
not retry usefully): 200 when matched to a call, 202 when stored to wait for one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from api.auth import require
from api.deps import actor_for, area_index, unit_of_work
from api.problems import problem_responses
from api.responses import AmlReceipt
from dispatch.accounts.tokens import Principal
from dispatch.calls import aml_intake

router = APIRouter(tags=["aml"])
RAW_BODY = {"requestBody": {"required": True, "content": {
    "text/plain": {"schema": {"type": "string"}, "example": 'A"ML=1;lt=-7.4700;lg=112.4300;'
                   'rd=20;top=20261123010203;lc=68;pm=G'},
    "application/x-www-form-urlencoded": {"schema": {
        "type": "object", "additionalProperties": {"type": "string"}}},
}}}


@router.post(
    "/v1/aml",
    response_model_exclude_unset=True,
    openapi_extra=RAW_BODY,
    responses={202: {"model": AmlReceipt, "description": "Stored; no call to match yet"},
               **problem_responses(401, 403, 413, 422, 429, 503)},
)
async def receive_aml(
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(require("gateway", "supervisor"))],
    caller_number: Annotated[str | None, Query(max_length=32)] = None,
    x_caller_number: Annotated[str | None, Header(max_length=32)] = None,
) -> AmlReceipt:
    """Body: the raw SMS text (text/plain) or the HTTPS form (urlencoded). The SMS relay
    names the sender with `?caller_number=` or `X-Caller-Number`. 200 when matched to a
    call, 202 when stored to wait for one."""
    raw = (await request.body()).decode("utf-8", errors="replace")
    async with unit_of_work(request) as session:
        actor = await actor_for(request, principal, session)
        areas = await area_index(request, session)
        receipt = AmlReceipt.model_validate(await aml_intake.receive_aml(
            session, actor, areas, raw, caller_number or x_caller_number))
    response.status_code = 200 if receipt.matched_call_id else 202
    return receipt

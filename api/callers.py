"""Callers: what the center knows of a number while the operator is still on the line."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from api.auth import require
from api.deps import unit_of_work
from api.problems import problem_responses
from api.responses import CallerHistory
from dispatch.accounts.tokens import Principal
from dispatch.calls.callers import caller_history

router = APIRouter(prefix="/v1/callers", tags=["calls"],
                   responses=problem_responses(401, 403, 422, 429, 503))
Operator = Annotated[Principal, Depends(require("operator", "supervisor"))]


@router.get("")
async def read_caller(
    request: Request, principal: Operator,
    caller_number: Annotated[str, Query(min_length=3, max_length=32)],
) -> CallerHistory:
    """The number's calls and prank or ghost calls of the last 24 hours, and the AML
    position waiting for its call, if one came first (the console shows it as soon as the
    number is typed)."""
    async with unit_of_work(request) as session:
        return CallerHistory.model_validate(await caller_history(
            session, request.app.state.settings, caller_number, datetime.now(UTC)))

"""Supervisor statistics per shift (API.md "Supervisor statistics"); the figures and their
definitions live in dispatch/stats/figures.py."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.auth import require
from api.deps import unit_of_work
from api.figures import DayFigures, ShiftFigures
from api.problems import problem_responses
from dispatch.accounts.tokens import Principal
from dispatch.stats import figures as stats

router = APIRouter(prefix="/v1/stats", tags=["statistics"],
                   responses=problem_responses(401, 403, 429, 503))
Supervisor = Annotated[Principal, Depends(require("supervisor"))]


@router.get("/shifts", responses=problem_responses(422))
async def read_day_figures(
    request: Request,
    principal: Supervisor,
    date: Annotated[
        dt.date | None,
        Query(description="local date (YYYY-MM-DD); today in the center's zone if omitted"),
    ] = None,
) -> DayFigures:
    """Every shift of one local date, in running order. The night shift of a date runs
    into the next."""
    settings = request.app.state.settings
    day = date or dt.datetime.now(settings.zone).date()
    async with unit_of_work(request) as session:
        items = await stats.day_figures(session, settings, day)
    return DayFigures(date=day, timezone=settings.timezone, next_cursor=None,
                      items=[ShiftFigures.model_validate(figures) for figures in items])


@router.get("/shifts/current")
async def read_current_shift_figures(request: Request, principal: Supervisor) -> ShiftFigures:
    """The figures of the shift running now, so far."""
    settings = request.app.state.settings
    day, name = stats.current_shift(settings)
    async with unit_of_work(request) as session:
        return ShiftFigures.model_validate(
            await stats.shift_figures(session, settings, day, name))


@router.get(
    "/shifts/{date}/{name}.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                     "description": "section,item,field,value"},
               **problem_responses(404, 422)},
)
async def export_shift_csv(
    request: Request, date: dt.date, name: str, principal: Supervisor
) -> Response:
    """One shift's figures as CSV, one number per row: `section,item,field,value`."""
    settings = request.app.state.settings
    async with unit_of_work(request) as session:
        figures = await stats.shift_figures(session, settings, date, name)
    return Response(
        stats.figures_to_csv(figures),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition":
                 f'attachment; filename="shift-{date.isoformat()}-{name}.csv"'},
    )

"""Operations endpoints: liveness, readiness, Prometheus metrics. No auth (load balancers
and scrapers call them)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import build_index_caches
from api.problems import problem, problem_responses
from api.responses import Health, Readiness
from dispatch.core.schema import current_revision, head_revision

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def check_health() -> Health:
    """The process is up (it says nothing of the database)."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={
    503: {**problem_responses(503)[503], "description": "Not ready: the database is not "
          "reachable, or its schema is not at the migration head (`database`, `migration`, "
          "`expected_migration` say which)"}})
async def check_readiness(request: Request) -> Readiness | JSONResponse:
    """Ready when the database answers, its schema is at the migration head, and this
    process has built its spatial indexes (so the first calls do not wait for them)."""
    engine = request.app.state.engine
    timeout = request.app.state.settings.db_connect_timeout_s
    expected = head_revision()
    try:
        async with asyncio.timeout(timeout), engine.connect() as connection:
            current = await current_revision(connection)
    except Exception as exc:  # any failure to reach the database means "not ready"
        return problem(503, f"the database is not reachable ({type(exc).__name__})",
                       database="unreachable", migration=None, expected_migration=expected)
    if current != expected:
        return problem(
            503,
            f"the database schema is at {current or 'nothing'}, the code needs {expected}: "
            "run `dispatch db upgrade`",
            database="ok",
            migration=current,
            expected_migration=expected,
        )
    if not await build_index_caches(request.app.state):
        return problem(503, "the spatial indexes are not built yet: retry",
                       database="ok", migration=current, expected_migration=expected)
    return Readiness(status="ready", database="ok", migration=current)


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    """Prometheus text format (not in the OpenAPI document)."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

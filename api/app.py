"""FastAPI application factory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from api import (
    agencies,
    aml,
    boundaries,
    callers,
    calls,
    console,
    docs,
    eido_ws,
    feeds,
    geo,
    incidents,
    interop,
    ops,
    stats,
    units,
    users,
)
from api.auth import router as auth_router
from api.deps import build_index_caches, install_index_caches
from api.middleware import BodySizeLimit, RequestLog, RequestMetrics
from api.problems import add_problem_schemas, install_problem_handlers
from api.ratelimit import RateLimit
from dispatch.accounts.login import failed_login_limiter
from dispatch.accounts.sessions import SessionGuard
from dispatch.accounts.sockets import OpenSockets
from dispatch.assignments.sweeper import run_sweeper
from dispatch.core import logs
from dispatch.core.audit import run_sealer
from dispatch.core.background import start_background
from dispatch.core.db import make_engine, make_sessionmaker, warm_pool
from dispatch.core.errors import Unavailable
from dispatch.core.feed_hub import FeedHub
from dispatch.core.heap import settled_heap
from dispatch.core.notify import Notifier
from dispatch.core.ratelimits import SharedRateLimiter
from dispatch.core.settings import Settings, load_settings
from dispatch.stats.feed import run_stats_publisher
from dispatch.units.osmand import UNKNOWN_DEVICE_KEY_PREFIX
from dispatch.units.retention import run_pruning


def operation_id(route: APIRoute) -> str:
    """A route's OpenAPI operationId: its endpoint's name, a verb (`register_call`,
    `read_incident`), which generated clients use as the method name."""
    return route.name


class Siaga112(FastAPI):
    """The service's app: its OpenAPI document also holds the problem+json schemas that
    every operation's error responses refer to."""

    def openapi(self) -> dict[str, Any]:
        """The document, built once."""
        if self.openapi_schema is None:
            add_problem_schemas(super().openapi())
        assert self.openapi_schema is not None
        return self.openapi_schema


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. Without settings they are read from the environment (uvicorn
    `--factory` calls it that way, once per worker)."""
    settings = settings or load_settings()
    logs.install(settings.log_level, settings.log_format)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        app.state.engine = engine
        app.state.sessions = make_sessionmaker(engine)
        install_index_caches(app.state, settings)
        await build_index_caches(app.state)
        await warm_pool(engine, min(settings.db_warm_connections,
                                    settings.db_pool_size + settings.db_max_overflow),
                        timeout_s=2 * settings.db_connect_timeout_s)
        app.state.request_limiter = SharedRateLimiter(
            engine, rate_per_s=settings.rate_limit_per_s, burst=settings.rate_limit_burst,
            sync_interval_s=settings.rate_limit_sync_s)
        app.state.login_limiter = failed_login_limiter(engine, settings)
        app.state.unknown_device_limiter = failed_login_limiter(
            engine, settings, watch_prefix=UNKNOWN_DEVICE_KEY_PREFIX)
        guard = SessionGuard(engine)
        app.state.session_guard = guard
        with contextlib.suppress(Unavailable):  # requests wait for it if it failed
            await guard.refresh()
        guard_task = start_background("session-guard", guard.run)
        app.state.open_sockets = OpenSockets(engine, per_user=settings.max_sockets_per_user)
        sockets_task = start_background("open-sockets", app.state.open_sockets.run)
        retention = timedelta(days=settings.position_retention_days)
        pruning = start_background("position-pruning", lambda: run_pruning(engine, retention))
        limit_syncs = [start_background("rate-limit-sync", limiter.run_sync)
                       for limiter in (app.state.request_limiter, app.state.login_limiter,
                                       app.state.unknown_device_limiter)]
        sweeper = start_background("escalation-sweeper", lambda: run_sweeper(
            app.state.sessions, settings, app.state.agency_cache))
        sealer = start_background("sealer", lambda: run_sealer(settings.sync_database_url))
        stats_publisher = start_background("stats-publisher", lambda: run_stats_publisher(
            app.state.sessions, settings))
        hub = FeedHub(settings.sync_database_url, queue_size=settings.feed_queue_size)
        app.state.feed_hub = hub
        await hub.start()
        notifier = Notifier(settings.sync_database_url, wake_local=hub.wake)
        app.state.notifier = notifier
        await notifier.start()
        try:
            with settled_heap():  # after everything that lives as long as the worker
                yield
        finally:
            await notifier.stop()
            await hub.stop()
            for task in (sweeper, sealer, stats_publisher, guard_task, sockets_task, pruning,
                         *limit_syncs):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await engine.dispose()

    app = Siaga112(
        title="Siaga112",
        version="0.1.0",
        description="112 emergency command center backend (SPGDT). Contract: API.md.",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        docs_url=None,  # api/docs.py serves /docs from vendored files
        redoc_url=None,
    )
    app.state.settings = settings
    install_problem_handlers(app)
    docs.install(app)
    app.include_router(ops.router)
    app.include_router(auth_router)
    for module in (calls, callers, incidents, agencies, units, users, geo, boundaries, aml,
                   feeds, stats, console, interop, eido_ws):
        app.include_router(module.router)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RateLimit)
    app.add_middleware(RequestMetrics)
    app.add_middleware(RequestLog)  # outermost: every line a request causes has its id
    return app

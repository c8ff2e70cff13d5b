"""Per-request plumbing shared by the routers: the transaction, the caller as an Actor,
and the per-process spatial indexes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from agencies.registry import AgencyDirectory, build_directory
from dispatch.accounts.tokens import Principal
from dispatch.actor import Actor
from dispatch.batch_write import NOTIFY_AFTER_COMMIT
from dispatch.core.db import VersionedIndexCache, transaction
from dispatch.core.settings import Settings
from geo.area_store import build_area_index
from geo.areas import AreaIndex


def install_index_caches(app_state: object, settings: Settings) -> None:
    async def agencies(session: AsyncSession, version: int) -> AgencyDirectory:
        return await build_directory(session, version, max_nearest_m=settings.nearest_max_m)

    app_state.area_cache = VersionedIndexCache("areas", build_area_index)  # type: ignore[attr-defined]
    app_state.agency_cache = VersionedIndexCache("agencies", agencies)  # type: ignore[attr-defined]


@asynccontextmanager
async def unit_of_work(request: HTTPConnection) -> AsyncIterator[AsyncSession]:
    """One transaction per request that changes something; committed before responding.
    Events written without a NOTIFY (dispatch/batch_write.py) wake the feeds after it."""
    async with transaction(request.app.state.sessions) as session:
        yield session
    if session.info.get(NOTIFY_AFTER_COMMIT):
        request.app.state.notifier.poke()


async def area_index(request: HTTPConnection, session: AsyncSession) -> AreaIndex:
    """This process's area index, rebuilt if the areas changed."""
    cache: VersionedIndexCache[AreaIndex] = request.app.state.area_cache
    return await cache.get(session)


async def actor_for(request: HTTPConnection, principal: Principal, session: AsyncSession) -> Actor:
    """The caller as the domain sees it: name, settings, the agency directory, user id."""
    cache: VersionedIndexCache[AgencyDirectory] = request.app.state.agency_cache
    directory = await cache.get(session)
    return Actor(
        name=principal.username,
        settings=request.app.state.settings,
        agencies=directory,
        user_id=uuid.UUID(principal.user_id),
    )


def agency_scope(principal: Principal) -> str | None:
    """An agency account sees only its own agency; other roles are not scoped."""
    return principal.agency_code if principal.role == "agency" else None

"""Per-request plumbing shared by the routers: the transaction, the caller as an Actor,
and the per-process spatial indexes."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import State
from starlette.requests import HTTPConnection

from agencies.registry import AgencyDirectory, build_directory
from dispatch.accounts.tokens import Principal
from dispatch.actor import Actor
from dispatch.batch_write import NOTIFY_AFTER_COMMIT
from dispatch.core.db import STORE_ERRORS, VersionedIndexCache, transaction
from dispatch.core.errors import Unavailable
from dispatch.core.settings import Settings
from geo.area_store import build_area_index
from geo.areas import AreaIndex

log = logging.getLogger("siaga112.indexes")


def install_index_caches(app_state: State, settings: Settings) -> None:
    """The per-process spatial indexes, built on first use and rebuilt when the areas or
    agencies change."""
    async def agencies(session: AsyncSession, version: int) -> AgencyDirectory:
        return await build_directory(session, version, max_nearest_m=settings.nearest_max_m)

    app_state.area_cache = VersionedIndexCache("areas", build_area_index)
    app_state.agency_cache = VersionedIndexCache("agencies", agencies)
    app_state.indexes_built = False


async def build_index_caches(app_state: State) -> bool:
    """Build the indexes now, so that the first calls after start (perhaps a storm of
    retries) do not all wait for them. False when the database is not reachable yet
    (/readyz tries again and says not ready meanwhile)."""
    if app_state.indexes_built:
        return True
    try:
        async with app_state.sessions() as session:
            await app_state.area_cache.get(session)
            await app_state.agency_cache.get(session)
    except STORE_ERRORS as exc:
        log.warning("spatial indexes not built yet: %s", type(exc).__name__)
        return False
    app_state.indexes_built = True
    return True


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


@asynccontextmanager
async def account_change(request: HTTPConnection) -> AsyncIterator[AsyncSession]:
    """A unit of work that changes accounts: this process's session guard reads the change
    right after commit, so its own next request already sees it (other processes within
    a second, dispatch/accounts/sessions.py)."""
    async with unit_of_work(request) as session:
        yield session
    with contextlib.suppress(Unavailable):  # committed; requests wait for a fresh read
        await request.app.state.session_guard.refresh()

"""The escalation sweep, run by every process; the advisory lock inside
escalate_overdue lets only one of them work at a time. Deadlines are stored on the
assignments, so a restart loses nothing: the next sweep finds what became overdue."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agencies.registry import AgencyDirectory
from dispatch.actor import Actor
from dispatch.assignments.actions import escalate_overdue
from dispatch.core.db import STORE_ERRORS, VersionedIndexCache, transaction
from dispatch.core.settings import Settings

log = logging.getLogger("siaga112.sweeper")
SYSTEM_ACTOR = "system"
SWEEP_BATCH = 100  # assignments escalated in one transaction


async def sweep_once(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    agency_cache: VersionedIndexCache[AgencyDirectory],
    now: datetime | None = None,
    *,
    batch: int = SWEEP_BATCH,
) -> int:
    async with transaction(sessions) as session:
        actor = Actor(SYSTEM_ACTOR, settings, await agency_cache.get(session))
        return await escalate_overdue(session, actor, now or datetime.now(UTC), limit=batch)


async def run_sweeper(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    agency_cache: VersionedIndexCache[AgencyDirectory],
    *,
    batch: int = SWEEP_BATCH,
) -> None:
    """Sweep every `escalation_sweep_interval_s`, and again at once after a full batch:
    in a surge that nobody acknowledges, the backlog must not wait a second per batch."""
    while True:
        escalated = 0
        try:
            escalated = await sweep_once(sessions, settings, agency_cache, batch=batch)
            if escalated:
                log.info("escalated %d overdue assignments", escalated)
        except STORE_ERRORS as exc:
            log.warning("escalation sweep failed, retrying: %s", type(exc).__name__)
        if escalated < batch:
            await asyncio.sleep(settings.escalation_sweep_interval_s)

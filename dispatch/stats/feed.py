"""The supervisors' live view: a `stats.updated` event with the current shift's figures,
appended to the log (and so sent on /v1/feed) at most every `stats_interval_s`, and only
when the figures changed. Every process runs the loop; an advisory lock and the time of
the last such event in the log keep it to one publisher and one event per interval."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.core.db import STORE_ERRORS, transaction
from dispatch.core.events import append_event
from dispatch.core.locks import AdvisoryLock
from dispatch.core.settings import Settings
from dispatch.stats.figures import current_shift, shift_figures

log = logging.getLogger("siaga112.stats")
STATS_LOCK_KEY = int(AdvisoryLock.STATS_PUBLISHER)


async def publish_if_due(
    session: AsyncSession, settings: Settings, now: datetime | None = None
) -> int | None:
    """Append a stats.updated event when due and changed; returns its seq, or None."""
    now = now or datetime.now(UTC)
    if not await session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"),
                                {"k": STATS_LOCK_KEY}):
        return None
    last = (await session.execute(text(
        "SELECT at, payload FROM events WHERE type = 'stats.updated' ORDER BY seq DESC LIMIT 1"
    ))).first()
    if last is not None and (now - last.at).total_seconds() < settings.stats_interval_s:
        return None
    day, name = current_shift(settings, now)
    figures = await shift_figures(session, settings, day, name)
    previous = last.payload.get("stats") if last is not None else None
    if previous is not None and orjson.loads(orjson.dumps(figures, default=str)) == previous:
        return None
    return await append_event(session, "stats.updated", actor="system", entity="stats",
                              entity_id=f"{day}/{name}", payload={"stats": figures})


async def run_stats_publisher(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    while True:
        try:
            async with transaction(sessions) as session:
                await publish_if_due(session, settings)
        except STORE_ERRORS as exc:
            log.warning("stats publishing failed, retrying: %s", type(exc).__name__)
        await asyncio.sleep(settings.stats_interval_s)

"""Pruning the position history: rows older than the retention are deleted in batches by
one process at a time (an advisory lock), every PRUNE_INTERVAL_S. A city that keeps
tracks longer raises DISPATCH_POSITION_RETENTION_DAYS; the table is indexed by arrival
(BRIN) so a batch finds its rows without reading the rest."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.core.db import STORE_ERRORS
from dispatch.core.locks import AdvisoryLock

log = logging.getLogger("siaga112.units")

PRUNE_LOCK_KEY = int(AdvisoryLock.POSITION_PRUNING)
PRUNE_INTERVAL_S = 600.0
BATCH = 50_000

_PRUNE = text("""
    DELETE FROM unit_positions WHERE id IN (
        SELECT id FROM unit_positions
        WHERE received_at < now() - CAST(:keep AS interval) LIMIT :batch)
""")


async def prune_positions(engine: AsyncEngine, retention: timedelta) -> int:
    """Delete what is past the retention; 0 when another process holds the lock."""
    deleted = 0
    async with engine.connect() as connection:
        got = await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"),
                                      {"key": PRUNE_LOCK_KEY})
        await connection.commit()  # the lock is the session's: it outlives transactions
        if not got:
            return 0
        try:
            while True:  # one short transaction per batch
                count = (await connection.execute(
                    _PRUNE, {"keep": retention, "batch": BATCH})).rowcount
                await connection.commit()
                deleted += count
                if count < BATCH:
                    return deleted
        finally:
            await connection.rollback()  # a failed batch leaves its transaction aborted
            await connection.execute(text("SELECT pg_advisory_unlock(:key)"),
                                     {"key": PRUNE_LOCK_KEY})
            await connection.commit()


async def run_pruning(engine: AsyncEngine, retention: timedelta) -> None:
    """The background task of every process (only one prunes at a time)."""
    while True:
        try:
            deleted = await prune_positions(engine, retention)
            if deleted:
                log.info("pruned %d unit positions older than %s", deleted, retention)
        except STORE_ERRORS as exc:
            log.warning("position pruning failed (%s); retrying later", type(exc).__name__)
        await asyncio.sleep(PRUNE_INTERVAL_S)

"""Coalesced NOTIFY after commit: one per process and round trip, not one per transaction.

A transaction that issues NOTIFY takes PostgreSQL's notification-queue lock at commit, so
committing intakes queue behind each other (seen at saturation as `Lock:object` waits on
COMMIT). The intake therefore appends its events without NOTIFY, and after its commit
pokes this process's Notifier, which wakes the local feed hub at once and sends one
`NOTIFY siaga112_events` on its own connection for every other process; pokes that arrive
while one is in flight are folded into the next.

NOTIFY was never more than a wake-up: the hubs read the events from the table and poll
every second, so a NOTIFY lost to a crash between commit and poke only delays delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg

from dispatch.core.background import start_background
from dispatch.core.databases import connect_any
from dispatch.core.db import DATABASE_LOST
from dispatch.core.events import EVENTS_CHANNEL

log = logging.getLogger("siaga112.notify")
RETRY_S = 0.5


class Notifier:
    def __init__(self, dsn: str, *, wake_local: Callable[[], None] | None = None,
                 application_name: str = "siaga112-notify") -> None:
        self._dsn = dsn
        self._wake_local = wake_local
        self._server_settings = {"application_name": application_name}
        self._pending = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._conn: asyncpg.Connection | None = None
        self.sent = 0  # NOTIFY statements sent (for tests and metrics)

    def poke(self) -> None:
        """Events were committed: wake the hubs (never blocks, never raises)."""
        if self._wake_local is not None:
            self._wake_local()
        self._pending.set()

    async def start(self) -> None:
        self._task = start_background("notifier", self._run)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._conn is not None and not self._conn.is_closed():
            self._conn.terminate()

    async def _run(self) -> None:
        while True:
            await self._pending.wait()
            self._pending.clear()
            try:
                if self._conn is None or self._conn.is_closed():
                    self._conn = await connect_any(
                        self._dsn, timeout=5, server_settings=self._server_settings)
                await self._conn.execute(f"NOTIFY {EVENTS_CHANNEL}")
                self.sent += 1
            except DATABASE_LOST as exc:
                log.warning("NOTIFY failed (%s); the feed hubs' polling covers it",
                            type(exc).__name__)
                self._drop_connection()
                await asyncio.sleep(RETRY_S)
            except Exception:
                # keep_running logs it and starts again, on a new connection.
                self._drop_connection()
                self._pending.set()
                raise

    def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.terminate()
        self._conn = None

"""Background loops that must outlive any one failure.

Every process runs loops the room depends on (the feed hub, the notifier, the escalation
sweep, the audit sealer…). Each already retries what it expects (DATABASE_LOST,
STORE_ERRORS); `keep_running` is the net under them: an exception nobody expected is
logged with its traceback and the loop starts again, instead of the task ending silently
and a worker serving sockets that never receive another frame (found by
tests/fault/test_database_restart.py: asyncpg raised InternalClientError at a shutdown)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger("siaga112.background")

RESTART_DELAY_S = 1.0
MAX_RESTART_DELAY_S = 30.0
HEALTHY_RUN_S = 60.0  # a run this long starts the delay over


async def keep_running(name: str, loop: Callable[[], Awaitable[None]], *,
                       restart_delay_s: float = RESTART_DELAY_S) -> None:
    """Run `loop()` for ever: when it raises (or returns), log and start it again after
    `restart_delay_s`, doubled after each run that failed quickly (at most
    MAX_RESTART_DELAY_S: a lasting fault logs a traceback every 30 s, not every second).
    Cancellation ends it."""
    delay = restart_delay_s
    while True:
        started = time.monotonic()
        try:
            await loop()
            log.error("background loop %s returned; starting it again", name)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background loop %s failed; starting it again", name)
        if time.monotonic() - started >= HEALTHY_RUN_S:
            delay = restart_delay_s
        await asyncio.sleep(delay)
        delay = min(delay * 2, MAX_RESTART_DELAY_S)


def start_background(name: str, loop: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
    """A task running `keep_running(name, loop)`, named `name`."""
    return asyncio.create_task(keep_running(name, loop), name=name)

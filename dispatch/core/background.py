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
from collections.abc import Awaitable, Callable

log = logging.getLogger("siaga112.background")

RESTART_DELAY_S = 1.0


async def keep_running(name: str, loop: Callable[[], Awaitable[None]], *,
                       restart_delay_s: float = RESTART_DELAY_S) -> None:
    """Run `loop()` for ever: when it raises (or returns), log and start it again after
    `restart_delay_s`. Cancellation ends it."""
    while True:
        try:
            await loop()
            log.error("background loop %s returned; starting it again", name)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background loop %s failed; starting it again", name)
        await asyncio.sleep(restart_delay_s)


def start_background(name: str, loop: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
    """A task running `keep_running(name, loop)`, named `name`."""
    return asyncio.create_task(keep_running(name, loop), name=name)

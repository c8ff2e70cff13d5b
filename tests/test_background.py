"""Background loops survive failures nobody expected (dispatch/core/background.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg
import pytest

from dispatch.core.background import keep_running
from dispatch.core.databases import plain_url
from dispatch.core.feed_hub import FeedHub
from tests.support import started_hub
from tests.test_feeds import APPEND


async def test_a_failed_loop_is_logged_and_started_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs: list[int] = []
    third = asyncio.Event()

    async def loop() -> None:
        runs.append(len(runs) + 1)
        if len(runs) == 1:
            raise RuntimeError("first run breaks")
        if len(runs) == 2:
            return  # a loop that ends by itself is started again too
        third.set()
        await asyncio.Event().wait()

    with caplog.at_level(logging.WARNING, logger="siaga112.background"):
        task = asyncio.create_task(keep_running("test-loop", loop, restart_delay_s=0.01))
        async with asyncio.timeout(5):
            await third.wait()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert runs == [1, 2, 3]
    assert task.cancelled()
    failed = [r for r in caplog.records if "test-loop failed" in r.getMessage()]
    assert len(failed) == 1 and failed[0].exc_info is not None
    assert "first run breaks" in str(failed[0].exc_info[1])
    assert any("test-loop returned" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("failure", [
    asyncpg.InternalClientError("cannot switch to state 15; another operation (2) is in "
                                "progress"),  # what asyncpg raised at a fast shutdown
    RuntimeError("nobody expected this"),
])
async def test_feed_hub_delivers_after_its_reader_fails(
    database_url: str, failure: Exception, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The reader failing once must not end delivery for this process's subscribers (it
    did: the pump task ended silently and sockets stayed open with nothing more to read)."""
    dsn = plain_url(database_url)
    hub = FeedHub(dsn)
    real_advance = hub._advance
    failures = [failure]

    async def advance_failing_once(conn: asyncpg.Connection) -> bool:
        if failures and hub.subscriber_count:
            raise failures.pop()
        return await real_advance(conn)

    monkeypatch.setattr(hub, "_advance", advance_failing_once)
    async with started_hub(hub) as writer:
        subscriber, _ = hub.subscribe("BG-TEST")
        seq = await writer.fetchval(APPEND, "after-failure", "BG-TEST")
        hub.wake()
        async with asyncio.timeout(8):
            event = await subscriber.queue.get()
    assert failures == []  # the failure did happen
    assert event is not None and event.seq == seq


async def test_an_event_the_hub_cannot_deliver_cuts_its_subscribers_off(
    database_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The reader's cursor is past a batch before it is handed out: a failure while handing
    it out must close the subscribers (4008 and a since= replay), never leave them open
    with a gap they cannot see; the hub then goes on for the next subscriber."""
    from dispatch.core import feed_hub

    hub = FeedHub(plain_url(database_url))
    real_from_row = feed_hub.FeedEvent.from_row
    failures = [ValueError("a payload nobody expected")]

    def from_row_failing_once(row: Any) -> feed_hub.FeedEvent | None:
        if failures and "CUT-TEST" in (row["agency_codes"] or ()):
            raise failures.pop()
        return real_from_row(row)

    monkeypatch.setattr(feed_hub.FeedEvent, "from_row", staticmethod(from_row_failing_once))
    async with started_hub(hub) as writer:
        subscriber, _ = hub.subscribe("CUT-TEST")
        await writer.fetchval(APPEND, "undeliverable", "CUT-TEST")
        hub.wake()
        async with asyncio.timeout(5):
            await subscriber.overflowed.wait()
            assert await subscriber.queue.get() is None  # the waiting sender is woken
        assert failures == []
        later, _ = hub.subscribe("CUT-TEST")
        seq = await writer.fetchval(APPEND, "later", "CUT-TEST")
        async with asyncio.timeout(8):
            event = await later.queue.get()
        assert event is not None and event.seq == seq

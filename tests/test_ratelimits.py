"""Rate limits shared through PostgreSQL (dispatch/core/ratelimits.py): two limiters with
engines of their own stand for two processes on one database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.core.db import make_engine
from dispatch.core.ratelimits import SharedRateLimiter
from tests.support import make_settings


@pytest.fixture
async def engines(database_url: str) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    first, second = make_engine(make_settings(database_url)), make_engine(
        make_settings(database_url))
    yield first, second
    await first.dispose()
    await second.dispose()


async def test_one_limiter_allows_the_burst_then_refuses_with_the_wait(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    limiter = SharedRateLimiter(engines[0], rate_per_s=0.5, burst=4)
    waits = [await limiter.take("token:a") for _ in range(6)]
    assert waits[:4] == [0.0] * 4
    assert 1.5 < waits[4] <= 2.0  # the next one is free two seconds (1 / rate) later
    assert 1.5 < waits[5] <= 2.0  # refused locally while blocked: the same wait
    assert await limiter.take("token:b") == 0.0  # another key is not affected


async def test_two_processes_share_one_limit(engines: tuple[AsyncEngine, AsyncEngine]) -> None:
    """Alternating between two limiters, the pair allows the burst (plus what the rate
    refills meanwhile), not twice the burst as limiters of their own would."""
    first = SharedRateLimiter(engines[0], rate_per_s=1.0, burst=6)
    second = SharedRateLimiter(engines[1], rate_per_s=1.0, burst=6)
    started = time.monotonic()
    granted = {"first": 0, "second": 0}
    refused = {"first": 0, "second": 0}
    for i in range(30):
        name, limiter = ("first", first) if i % 2 == 0 else ("second", second)
        if await limiter.take("token:shared") == 0:
            granted[name] += 1
        else:
            refused[name] += 1
    elapsed = time.monotonic() - started
    assert 6 <= sum(granted.values()) <= 6 + int(elapsed) + 1, (granted, elapsed)
    assert refused["first"] > 0 and refused["second"] > 0


async def test_local_grants_reach_the_other_process_at_the_next_sync(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    first = SharedRateLimiter(engines[0], rate_per_s=0.1, burst=20)
    second = SharedRateLimiter(engines[1], rate_per_s=0.1, burst=20)
    for _ in range(8):  # the first asks the database, the rest are granted locally
        assert await first.take("token:c") == 0
    assert await first.sync() == 1
    for _ in range(12):  # what is left of the burst, seen through the database
        assert await second.take("token:c") == 0
    assert await second.take("token:c") > 0  # the burst is spent, in the database
    # The first still holds the state of its last sync and may grant locally until its
    # next one (the overshoot the module docstring bounds); once it reads, it refuses.
    assert await first.blocked("token:c") > 0
    assert await first.take("token:c") > 0


async def test_failed_events_block_a_key_for_everyone(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    """The log-in use: failures are recorded whatever the state; once the allowance is
    spent the key is blocked, in the other process too, until the rate frees one."""
    first = SharedRateLimiter(engines[0], rate_per_s=1 / 60, burst=3)
    second = SharedRateLimiter(engines[1], rate_per_s=1 / 60, burst=3)
    assert await second.blocked("login:10.1.2.3") == 0
    assert await first.record("login:10.1.2.3") == 0
    assert await second.record("login:10.1.2.3") == 0
    blocked_for = await first.record("login:10.1.2.3")
    assert 59 < blocked_for <= 60
    assert 59 < await second.blocked("login:10.1.2.3") <= 60
    assert await second.blocked("login:10.9.9.9") == 0


async def test_an_unreachable_database_lets_requests_through(database_url: str) -> None:
    dead = make_engine(make_settings("postgresql+asyncpg://postgres@127.0.0.1:1/none",
                                     db_connect_timeout_s=0.5))
    try:
        limiter = SharedRateLimiter(dead, rate_per_s=1, burst=1)
        assert [await limiter.take("token:d") for _ in range(3)] == [0.0, 0.0, 0.0]
    finally:
        await dead.dispose()


async def test_the_background_sync_prunes_nothing_live(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    limiter = SharedRateLimiter(engines[0], rate_per_s=10, burst=50, sync_interval_s=0.05)
    task = asyncio.create_task(limiter.run_sync())
    try:
        for _ in range(5):
            assert await limiter.take("token:e") == 0
        await asyncio.sleep(0.3)
    finally:
        task.cancel()
    async with engines[1].connect() as conn:
        tat = await conn.scalar(text(
            "SELECT extract(epoch FROM tat - now()) FROM rate_limits WHERE key = 'token:e'"))
    # five requests of 0.1 s each, synced without the test asking: 0.5 s from the first
    assert tat is not None and 0 < float(tat) <= 0.5


async def test_a_concurrent_burst_is_counted_once(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    """A known token, then 150 requests at once within a burst of 200: about half are
    granted locally, the rest queue for the database; all are granted, and the database
    counts exactly 151 (each local grant sent once, not once per queued ask)."""
    limiter = SharedRateLimiter(engines[0], rate_per_s=50, burst=200)
    assert await limiter.take("token:f") == 0.0
    waits = await asyncio.gather(*(limiter.take("token:f") for _ in range(150)))
    assert waits == [0.0] * 150
    await limiter.sync()
    async with engines[1].connect() as conn:
        ahead = await conn.scalar(text(
            "SELECT extract(epoch FROM tat - now()) FROM rate_limits WHERE key = 'token:f'"))
    assert ahead is not None and 2.5 < float(ahead) <= 3.02  # 151 × 1/50 s, less time spent

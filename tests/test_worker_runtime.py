"""How a worker holds its memory and its database connections: the objects built at start
are frozen out of the garbage collector's full collections while it serves, and the pool
hands back the connection used last (the warm one), not the one idle longest, and a worker
opens and prepares some of its connections before it serves."""

from __future__ import annotations

import asyncio
import gc
import logging
import weakref

import pytest
from sqlalchemy import text

from api.app import create_app
from dispatch.core.db import make_engine, warm_pool
from dispatch.core.heap import settled_heap
from dispatch.core.settings import Settings
from tests.support import free_port, make_settings, started_client


def test_settled_heap_freezes_what_lives_and_collects_the_rest() -> None:
    class Node:
        def __init__(self) -> None:
            self.other: Node | None = None

    garbage = Node()
    garbage.other = Node()
    garbage.other.other = garbage  # a cycle only the collector can free
    cycle = weakref.ref(garbage)
    kept = Node()
    del garbage
    assert cycle() is not None  # reference counting alone does not free it
    with settled_heap() as frozen:
        assert frozen > 0 and gc.get_freeze_count() > 0
        assert cycle() is None  # collected before the freeze, not frozen with the rest
        assert not any(obj is kept for obj in gc.get_objects())  # frozen: not tracked
    assert gc.get_freeze_count() == 0
    assert any(obj is kept for obj in gc.get_objects())


async def test_a_serving_worker_has_its_heap_frozen_until_it_stops(settings: Settings) -> None:
    app = create_app(settings)
    async for client in started_client(app):
        assert (await client.get("/readyz")).status_code == 200
        assert gc.get_freeze_count() > 10_000  # the app, its indexes, the libraries
        # Let the background loops' first database connections finish: stopping during
        # asyncpg's TLS negotiation logs "Future exception was never retrieved"
        # (MagicStack/asyncpg#1310, open), noise in the test log.
        await asyncio.sleep(0.5)
    assert gc.get_freeze_count() == 0


async def test_the_pool_hands_back_the_connection_used_last(settings: Settings) -> None:
    """With first-in-first-out a lone request went to the coldest of the 20 connections,
    whose backend had not planned its statements yet (20–41 ms instead of 5–8)."""
    engine = make_engine(settings)
    pid = text("SELECT pg_backend_pid()")
    try:
        first, second = engine.connect(), engine.connect()
        await first.start()
        await second.start()
        first_pid = (await first.execute(pid)).scalar_one()
        second_pid = (await second.execute(pid)).scalar_one()
        await first.close()
        await second.close()  # returned last
        for _ in range(3):
            async with engine.connect() as again:
                assert (await again.execute(pid)).scalar_one() == second_pid != first_pid
    finally:
        await engine.dispose()


async def test_a_worker_opens_its_warm_connections_before_it_serves(settings: Settings) -> None:
    """A restarted worker's first burst found an empty pool: every request opened a
    connection whose backend then loaded PostGIS (120–130 requests over 50 ms in the first
    second of `bench_units`, 13–15 with eight warm connections)."""
    app = create_app(settings.model_copy(update={"db_warm_connections": 12}))
    async for client in started_client(app):
        pool = app.state.engine.pool
        # Before any request; the background loops share the pool (some may hold one
        # now), but fewer than twelve of them ever run at once.
        assert pool.checkedin() + pool.checkedout() >= 12
        assert (await client.get("/readyz")).status_code == 200
        await asyncio.sleep(0.5)  # asyncpg#1310, as above


async def test_warm_connections_are_distinct_backends_returned_to_the_pool(
        settings: Settings) -> None:
    engine = make_engine(settings)
    try:
        assert await warm_pool(engine, 4, timeout_s=10) == 4
        assert engine.pool.checkedin() == 4
        held = [engine.connect() for _ in range(4)]
        pids = set()
        for connection in held:
            await connection.start()
            pids.add((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        assert len(pids) == 4
        assert engine.pool.checkedin() == 0  # the four warmed ones, none opened anew
        for connection in held:
            await connection.close()
    finally:
        await engine.dispose()


async def test_a_database_that_does_not_answer_does_not_stop_the_start(
        caplog: pytest.LogCaptureFixture) -> None:
    silent = make_settings(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/none",
                           db_connect_timeout_s=1.0)
    engine = make_engine(silent)
    try:
        with caplog.at_level(logging.WARNING, logger="siaga112.db"):
            assert await warm_pool(engine, 3, timeout_s=5) == 0
        assert "3 of 3 pool connections not opened at start" in caplog.text
    finally:
        await engine.dispose()

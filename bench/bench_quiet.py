"""A worker when the room is quiet (a night shift): one request at a time, and what a full
garbage collection costs it.

    python -m bench.bench_quiet [--requests 40] [--workers 2]

On a scratch database with the demo region and 100 units: a `dispatch serve --workers N`
process group answers `--requests` requests of each kind one after another (an OsmAnd
fix, a call with a category, a batch of 50 fixes); reported are the first request of each
kind (a fresh worker: each new database connection's backend plans the statement once)
and the median and worst of the rest. Then, in this process, the app is started as a
worker starts it and a full collection (`gc.collect()`) is timed with the start-up heap
as it is frozen while serving (dispatch/core/heap.py) and unfrozen. Last, what a new pool
connection costs its first request: `--cold-rounds` times, alternately with and without
`warm_pool`'s preparation, a fresh engine opens one connection and stores one fix on it
with `positions.ingest` three times (rolled back); medians of each step. The database is
dropped at the end."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bench.bench_units import (
    ADMIN_URL,
    insert_units,
    logged_in_load,
    service_env,
    start_service,
)
from bench.http_client import HttpClient
from dispatch.core.databases import create_database, drop_database, sqlalchemy_url
from dispatch.core.db import make_engine, warm_pool
from dispatch.core.settings import Settings
from dispatch.tools.demo import load_demo_into
from dispatch.tools.migrate import upgrade_async
from dispatch.units.positions import Fix, ingest


def _ms(seconds: float) -> float:
    return round(seconds * 1e3, 2)


async def _one_at_a_time(send: Callable[[int], Awaitable[int]], n: int) -> dict[str, Any]:
    took = []
    for i in range(n):
        started = time.perf_counter()
        status = await send(i)
        took.append(time.perf_counter() - started)
        assert status in (200, 201), status
    rest = took[1:]
    return {"first_ms": _ms(took[0]), "median_ms": _ms(statistics.median(rest)),
            "max_ms": _ms(max(rest))}


async def _served(env: dict[str, str], requests: int, workers: int,
                  units: list[tuple[str, str]], name: str) -> dict[str, Any]:
    server = start_service(env, workers, name)
    try:
        client = HttpClient(server.base_url, max_connections=4)
        load = await logged_in_load(client)
        batch = [code for code, _ in units[50:]]
        result = {
            "osmand_fix": await _one_at_a_time(
                lambda i: load.osmand(units[i % 50][1]), requests),
            "call_with_category": await _one_at_a_time(load.intake, requests),
            "batch_of_50_fixes": await _one_at_a_time(lambda _: load.batch(batch), requests),
        }
        await client.close()
        return result
    finally:
        server.stop()


async def _full_collection(env: dict[str, str]) -> dict[str, Any]:
    os.environ.update(env)
    from api.app import create_app  # reads the settings from the environment

    app = create_app()
    async with app.router.lifespan_context(app):
        frozen = gc.get_freeze_count()

        def timed() -> float:
            started = time.perf_counter()
            gc.collect()
            return time.perf_counter() - started

        with_freeze = [timed() for _ in range(5)]
        gc.unfreeze()
        tracked = len(gc.get_objects())
        without = [timed() for _ in range(5)]
        gc.freeze()  # as the lifespan left it: it unfreezes when it ends
        # Stopping while a background loop's first connection is in asyncpg's TLS
        # negotiation logs a never-retrieved future (MagicStack/asyncpg#1310): let it end.
        await asyncio.sleep(0.5)
    return {"objects_frozen_at_start": frozen, "objects_tracked_unfrozen": tracked,
            "full_collection_frozen_ms": _ms(statistics.median(with_freeze)),
            "full_collection_unfrozen_ms": _ms(statistics.median(without))}


async def _cold_connection(url: str, units: list[tuple[str, str]], rounds: int
                           ) -> dict[str, Any]:
    """Connect, then three one-fix `ingest`s, on a fresh engine's first connection."""
    steps: dict[str, dict[str, list[float]]] = {"cold": {}, "warmed": {}}
    for n in range(2 * rounds):
        variant = "warmed" if n % 2 else "cold"
        engine = make_engine(Settings(database_url=url, demo_mode=True))
        took = steps[variant]
        try:
            started = time.perf_counter()
            if variant == "warmed":
                assert await warm_pool(engine, 1, timeout_s=10) == 1
            async with engine.connect() as connection:
                took.setdefault("open_ms", []).append(time.perf_counter() - started)
                for i in range(3):
                    fix = Fix(lat=-7.47, lon=112.43, at=datetime.now(UTC),
                              unit_code=units[(n * 3 + i) % len(units)][0])
                    started = time.perf_counter()
                    async with connection.begin() as transaction, \
                            AsyncSession(bind=connection) as session:
                        await ingest(session, [fix], now=datetime.now(UTC),
                                     retention=timedelta(days=30), actor="bench")
                        await transaction.rollback()
                    took.setdefault(f"fix_{i + 1}_ms", []).append(time.perf_counter() - started)
        finally:
            await engine.dispose()
    return {f"{variant}_connection": {step: _ms(statistics.median(values))
                                      for step, values in by_step.items()}
            for variant, by_step in steps.items()}


async def measure(requests: int, workers: int, admin_url: str,
                  cold_rounds: int) -> dict[str, Any]:
    name = f"siaga112_bench_quiet_{secrets.token_hex(4)}"
    url = sqlalchemy_url(await create_database(admin_url, name))
    engine = make_engine(Settings(database_url=url, demo_mode=True))
    env = service_env(url)
    try:
        await upgrade_async(url)
        await load_demo_into(url)
        units = await insert_units(engine, 100)
        served = await _served(env, requests, workers, units, name)
        return {"requests_per_kind": requests, "workers": workers, **served,
                **await _full_collection(env),
                **await _cold_connection(url, units, cold_rounds)}
    finally:
        await engine.dispose()
        await drop_database(admin_url, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cold-rounds", type=int, default=7)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.requests, args.workers, args.admin_url,
                                         args.cold_rounds)), indent=1))


if __name__ == "__main__":
    main()

"""Sequential intakes through the ASGI app in one process, for profiling the hot path.

    python -m bench.profile_intake [--calls 300] [--address] [--profile out.prof]

Creates a scratch database with the demo region, posts `--calls` calls with a category and
a typed position, or with `--address` a free-text address instead (no network, no
uvicorn: only the app's own work and PostgreSQL), prints calls/s, the CPU per call of
this process and of PostgreSQL, the mean round trips per call and, with --profile, writes
a cProfile file and prints the top functions by cumulative time. The database is dropped
at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event

from api.app import create_app
from dispatch.core.databases import create_database, drop_database, sqlalchemy_url
from dispatch.core.settings import Settings
from dispatch.tools.demo import load_demo_into
from dispatch.tools.migrate import upgrade_async
from dispatch.tools.simulate.traffic import Kelurahan, address_of, load_kelurahan

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SECRET = "profile-secret-key-" + "p" * 32
CATEGORIES = ("traffic_accident", "medical", "fire", "crime", "fire_with_injury")


def postgres_cpu_s() -> float:
    """CPU seconds used so far by every local process named postgres (Linux /proc)."""
    total_ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text[text.rindex(")") + 2:].split()
        if name == "postgres":
            total_ticks += int(fields[11]) + int(fields[12])
    return total_ticks / os.sysconf("SC_CLK_TCK")


@cache
def _kelurahan() -> tuple[Kelurahan, ...]:
    return load_kelurahan()


def call_body(rng: random.Random, *, address: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"caller_number": f"+62812{rng.randrange(10**7):07d}",
                            "category": rng.choice(CATEGORIES)}
    if address:  # as dispatch simulate writes them
        body["address"] = address_of(rng, rng.choice(_kelurahan()))
    else:
        body["location"] = {"lat": round(rng.uniform(-7.50, -7.44), 6),
                            "lon": round(rng.uniform(112.41, 112.46), 6), "accuracy_m": 30.0}
    return body


@asynccontextmanager
async def scratch_app(admin_url: str, prefix: str, **settings: Any) -> AsyncIterator[FastAPI]:
    """The app started (lifespan run) on a scratch database with the demo region, no rate
    limit and acknowledgement deadlines a day away; the database is dropped after."""
    name = f"{prefix}_{random.randrange(16**8):08x}"
    url = sqlalchemy_url(await create_database(admin_url, name))
    try:
        await upgrade_async(url)
        await load_demo_into(url)
        app = create_app(Settings(  # type: ignore[call-arg]
            database_url=url, secret_key=SECRET, rate_limit_per_s=1e6, rate_limit_burst=1e6,
            ack_timeout_s=[86400] * 4, log_level="WARNING", **settings))
        async with app.router.lifespan_context(app):
            yield app
    finally:
        await drop_database(admin_url, name)


@asynccontextmanager
async def operator_intakes(
    app: FastAPI, *, address: bool = False
) -> AsyncIterator[Callable[[int], Awaitable[None]]]:
    """A function that posts `count` calls (`call_body`) as the demo operator through the
    ASGI app, each answered 201."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        token = (await client.post("/auth/token", data={
            "username": "operator", "password": "operator-demo-112"})).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        rng = random.Random(112)

        async def post(count: int) -> None:
            for _ in range(count):
                response = await client.post(
                    "/v1/calls", json=call_body(rng, address=address), headers=headers)
                assert response.status_code == 201, response.text

        yield post


async def run(calls: int, profile_path: str | None, admin_url: str, *, address: bool = False
              ) -> dict[str, Any]:
    async with scratch_app(admin_url, "siaga112_profile") as app:
        statements = 0

        def count(*_: Any) -> None:
            nonlocal statements
            statements += 1

        event.listen(app.state.engine.sync_engine, "before_cursor_execute", count)
        async with operator_intakes(app, address=address) as post:
            await post(20)  # warm-up: caches, prepared statements
            statements = 0
            profiler = cProfile.Profile() if profile_path else None
            started = time.perf_counter()
            cpu_started = time.process_time()
            postgres_started = postgres_cpu_s()
            if profiler:
                profiler.enable()
            await post(calls)
            if profiler:
                profiler.disable()
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
            postgres_cpu = postgres_cpu_s() - postgres_started
    if profiler and profile_path:
        profiler.dump_stats(profile_path)
        pstats.Stats(profile_path).sort_stats("cumulative").print_stats(40)
    return {"calls": calls, "address": address, "elapsed_s": round(elapsed, 3),
            "calls_per_s": round(calls / elapsed, 1),
            "ms_per_call": round(elapsed / calls * 1000, 2),
            "cpu_ms_per_call": round(cpu / calls * 1000, 2),
            "postgres_cpu_ms_per_call": round(postgres_cpu / calls * 1000, 2),
            "statements_per_call": round(statements / calls, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--address", action="store_true",
                        help="free-text addresses instead of typed positions")
    parser.add_argument("--profile", help="write a cProfile file here")
    parser.add_argument("--admin-url", default=ADMIN_URL)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.calls, args.profile, args.admin_url,
                                      address=args.address))))


if __name__ == "__main__":
    main()

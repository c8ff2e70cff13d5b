"""What the shared rate limit costs a request (dispatch/core/ratelimits.py).

    python -m bench.bench_ratelimit [--requests 20000]

On a scratch database: the median time of `take()` for a token well inside its limit
(granted in the process, no database), of a `take()` that asks PostgreSQL (a new key, or
one near its limit), and of one background sync of 100 keys. The database is dropped at
the end."""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import time

from dispatch.core.databases import create_database, drop_database, sqlalchemy_url
from dispatch.core.db import make_engine
from dispatch.core.ratelimits import SharedRateLimiter
from dispatch.core.settings import Settings
from dispatch.tools.migrate import upgrade_async

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


async def measure(requests: int, admin_url: str) -> dict[str, float]:
    name = f"siaga112_bench_rl_{secrets.token_hex(4)}"
    url = sqlalchemy_url(await create_database(admin_url, name))
    engine = make_engine(Settings(database_url=url, demo_mode=True))
    try:
        await upgrade_async(url)
        limiter = SharedRateLimiter(engine, rate_per_s=1e6, burst=10**9)
        await limiter.take("token:warm")
        local = []
        for _ in range(requests):
            started = time.perf_counter()
            await limiter.take("token:warm")
            local.append(time.perf_counter() - started)
        asked = []
        for i in range(min(requests // 20, 1000)):
            started = time.perf_counter()
            await limiter.take(f"token:new-{i}")
            asked.append(time.perf_counter() - started)
        for i in range(100):
            await limiter.take(f"token:new-{i}")  # local grants to send
        started = time.perf_counter()
        sent = await limiter.sync()
        sync_s = time.perf_counter() - started
        return {"local_take_us_median": round(statistics.median(local) * 1e6, 2),
                "database_take_ms_median": round(statistics.median(asked) * 1e3, 3),
                "sync_keys": sent, "sync_ms": round(sync_s * 1e3, 2)}
    finally:
        await engine.dispose()
        await drop_database(admin_url, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.requests, args.admin_url))))


if __name__ == "__main__":
    main()

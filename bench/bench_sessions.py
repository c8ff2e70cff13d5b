"""What checking a token for revocation costs a request (dispatch/accounts/sessions.py).

    python -m bench.bench_sessions [--checks 20000] [--revocations 50]

On a scratch database with the demo region: the median time of `SessionGuard.check()` for
an operator (from this process's memory), for an agency account (one read of its row per
request), of one background read of account changes when nothing changed (each process
does it every 0.25 s), and how long after a revoking change commits a second guard (as
another process would, running its background loop) refuses the token. The database is
dropped at the end."""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import time
from typing import Any

from dispatch.accounts import changes
from dispatch.accounts.sessions import SessionGuard
from dispatch.accounts.tokens import Principal
from dispatch.accounts.users import create_user
from dispatch.core.databases import create_database, drop_database, sqlalchemy_url
from dispatch.core.db import make_engine, make_sessionmaker, transaction
from dispatch.core.errors import Unauthorized
from dispatch.core.settings import Settings
from dispatch.tools.demo import load_demo_into
from dispatch.tools.migrate import upgrade_async

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _median_us(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1e6, 2)


async def _timed(check: Any, principal: Principal, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        await check(principal)
        samples.append(time.perf_counter() - started)
    return samples


async def measure(checks: int, revocations: int, admin_url: str) -> dict[str, float]:
    name = f"siaga112_bench_sessions_{secrets.token_hex(4)}"
    url = sqlalchemy_url(await create_database(admin_url, name))
    engine = make_engine(Settings(database_url=url, demo_mode=True))
    try:
        await upgrade_async(url)
        await load_demo_into(url)
        sessions = make_sessionmaker(engine)
        async with transaction(sessions) as session:
            operator = await create_user(session, "bench-operator", role="operator",
                                         password="bench-password-1")
            agency = await create_user(session, "bench-agency", role="agency",
                                       password="bench-password-1", agency_code="DAMKAR-MJK")
        as_operator = Principal(str(operator.id), "bench-operator", "operator", None, 0)
        as_agency = Principal(str(agency.id), "bench-agency", "agency", "DAMKAR-MJK", 0)
        guard = SessionGuard(engine)
        await guard.refresh()
        memory = await _timed(guard.check, as_operator, checks)
        database = await _timed(guard.check, as_agency, max(checks // 20, 200))
        polls = []
        for _ in range(500):
            started = time.perf_counter()
            await guard.refresh()
            polls.append(time.perf_counter() - started)

        other = SessionGuard(engine)  # another process
        await other.refresh()
        loop = asyncio.create_task(other.run())
        delays = []
        try:
            for generation in range(revocations):
                principal = Principal(str(operator.id), "bench-operator", "operator", None,
                                      generation)
                await other.check(principal)
                async with transaction(sessions) as session:
                    await changes.log_out(session, operator.id)
                committed = time.perf_counter()
                while True:
                    try:
                        await other.check(principal)
                    except Unauthorized:
                        break
                    await asyncio.sleep(0.002)
                delays.append(time.perf_counter() - committed)
        finally:
            loop.cancel()
        return {
            "check_operator_memory_us_median": _median_us(memory),
            "check_agency_database_us_median": _median_us(database),
            "background_read_no_changes_us_median": _median_us(polls),
            "revoked_elsewhere_after_ms_median": round(statistics.median(delays) * 1e3, 1),
            "revoked_elsewhere_after_ms_max": round(max(delays) * 1e3, 1),
            "revocations": revocations,
        }
    finally:
        await engine.dispose()
        await drop_database(admin_url, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=20_000)
    parser.add_argument("--revocations", type=int, default=50)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.checks, args.revocations, args.admin_url))))


if __name__ == "__main__":
    main()

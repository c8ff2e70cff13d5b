"""Concurrent retries with one Idempotency-Key make exactly one call.

50 clients post the same call with the same key at the same moment, over real HTTP
connections (a uvicorn server in this process, 50 connections): one 201 creates the call,
the others are replays of that very response (`Idempotent-Replayed: true`), never a 503
(a request that finds the key busy waits without holding a pooled connection), and the
database holds one call. Repeated ROUNDS times with fresh keys; then the same key with two
different bodies at once (one call, the other body 409), and the same key used by two
operators (one call each: keys are per user)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from api.app import create_app
from dispatch.core.databases import plain_url
from tests.servers import dispatch_serve
from tests.support import load_demo_into, login, make_settings, serving

ROUNDS = 5
PARALLEL = 50
MENTIKAN = {"lat": -7.47, "lon": 112.43}


@pytest.fixture(scope="module")
async def api(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    # The per-token rate limit is a safety valve for a runaway client; these bursts are
    # deliberate, so it is raised here.
    app = create_app(make_settings(database_url, rate_limit_per_s=100_000.0,
                                   rate_limit_burst=100_000))
    limits = httpx.Limits(max_connections=PARALLEL, max_keepalive_connections=PARALLEL)
    async for address in serving(app):
        async with httpx.AsyncClient(base_url=f"http://{address}", timeout=30,
                                     limits=limits) as client:
            yield client


async def _count_calls(database_url: str, caller_number: str) -> int:
    conn = await asyncpg.connect(plain_url(database_url))
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM calls WHERE caller_number = $1", caller_number)
    finally:
        await conn.close()


def _number() -> str:
    return f"+62818{secrets.randbelow(10**8):08d}"


async def _storm(api: httpx.AsyncClient, headers: dict, key: str,
                 bodies: list[dict]) -> list[httpx.Response]:
    start = asyncio.Event()

    async def one(body: dict) -> httpx.Response:
        await start.wait()
        return await api.post("/v1/calls", headers={**headers, "Idempotency-Key": key},
                              json=body)

    tasks = [asyncio.create_task(one(body)) for body in bodies]
    await asyncio.sleep(0.05)
    start.set()
    async with asyncio.timeout(60):
        return await asyncio.gather(*tasks)


async def test_fifty_parallel_retries_make_one_call(api: httpx.AsyncClient,
                                                    database_url: str) -> None:
    operator = await login(api, "operator")
    replays = 0
    for _ in range(ROUNDS):
        number = _number()
        body = {"caller_number": number, "category": "crime", "location": MENTIKAN}
        responses = await _storm(api, operator, secrets.token_hex(8), [body] * PARALLEL)
        assert [r.status_code for r in responses] == [201] * PARALLEL
        created = responses
        assert created, "no request of the storm succeeded"
        assert len({r.json()["id"] for r in created}) == 1
        assert len({r.json()["incident"]["id"] for r in created}) == 1
        fresh = [r for r in created if r.headers.get("idempotent-replayed") != "true"]
        assert len(fresh) == 1, f"{len(fresh)} responses claim to have created the call"
        assert all(r.json() == fresh[0].json() for r in created)
        assert await _count_calls(database_url, number) == 1
        replays += len(created) - 1
    print(f"\nidempotency: {ROUNDS} storms of {PARALLEL} parallel posts: {ROUNDS} calls stored, "
          f"{replays} replays, 0 duplicates, 0 503s")


async def test_same_key_two_bodies_at_once_is_one_call_and_409s(
    api: httpx.AsyncClient, database_url: str
) -> None:
    operator = await login(api, "operator")
    one, other = _number(), _number()
    bodies = [{"caller_number": n, "category": "crime", "location": MENTIKAN}
              for n in (one, other)] * (PARALLEL // 2)
    responses = await _storm(api, operator, secrets.token_hex(8), bodies)
    assert {r.status_code for r in responses} == {201, 409}
    created = {r.json()["caller_number"] for r in responses if r.status_code == 201}
    assert len(created) == 1
    winner = created.pop()
    # Every request with the other body is refused (or was not carried out at all).
    loser_body = [r for r, b in zip(responses, bodies, strict=True)
                  if b["caller_number"] != winner]
    assert {r.status_code for r in loser_body} == {409}
    for response in responses:
        if response.status_code == 409:
            assert response.headers["content-type"] == "application/problem+json"
    assert await _count_calls(database_url, winner) == 1
    assert await _count_calls(database_url, other if winner == one else one) == 0


async def test_the_key_belongs_to_the_user(api: httpx.AsyncClient, database_url: str) -> None:
    key, number = secrets.token_hex(8), _number()
    body = {"caller_number": number, "category": "crime", "location": MENTIKAN}
    first = await _storm(api, await login(api, "operator"), key, [body] * (PARALLEL // 2))
    second = await _storm(api, await login(api, "operator2"), key, [body] * (PARALLEL // 2))
    assert {r.status_code for r in first + second} == {201}
    first_ids = {r.json()["id"] for r in first if r.status_code == 201}
    second_ids = {r.json()["id"] for r in second if r.status_code == 201}
    assert len(first_ids) == 1 and len(second_ids) == 1 and first_ids != second_ids
    assert await _count_calls(database_url, number) == 2


async def test_retry_storm_while_the_first_attempt_is_slow_waits_without_the_pool(
    database_url: str,
) -> None:
    """The first attempt is slow (the test holds the key's advisory lock for 1.5 s, as a
    slow transaction would) while 50 retries arrive at a process with a pool of 2 and a
    0.5 s pool wait. A retry that held its pooled connection while it waited for the key
    would exhaust that pool (503s); they wait without one, so all 50 get the one call.
    (The lock key is dispatch/calls/idempotency.py's.)"""
    app = create_app(make_settings(database_url, rate_limit_per_s=100_000.0,
                                   rate_limit_burst=100_000, db_pool_size=2,
                                   db_max_overflow=0, db_connect_timeout_s=0.5))
    limits = httpx.Limits(max_connections=PARALLEL, max_keepalive_connections=PARALLEL)
    plain = plain_url(database_url)
    number, key = _number(), secrets.token_hex(8)
    body = {"caller_number": number, "category": "crime", "location": MENTIKAN}
    holder = await asyncpg.connect(plain)
    try:
        user_id = await holder.fetchval("SELECT id FROM users WHERE username = 'operator'")
        async for address in serving(app):
            async with httpx.AsyncClient(base_url=f"http://{address}", timeout=30,
                                         limits=limits) as small:
                operator = await login(small, "operator")
                slow_first = holder.transaction()
                await slow_first.start()
                await holder.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 112))",
                                     f"{user_id}:{key}")
                storm = asyncio.create_task(_storm(small, operator, key, [body] * PARALLEL))
                await asyncio.sleep(1.5)
                await slow_first.rollback()
                async with asyncio.timeout(60):
                    responses = await storm
    finally:
        await holder.close()
    statuses = {code: [r.status_code for r in responses].count(code)
                for code in sorted({r.status_code for r in responses})}
    print(f"\nretry storm behind a slow first attempt, pool of 2: statuses {statuses}")
    assert await _count_calls(database_url, number) == 1
    assert [r.status_code for r in responses] == [201] * PARALLEL


async def test_the_first_storm_on_a_fresh_process_is_all_201(
    make_database, tmp_path: Path
) -> None:
    """A process that has just said ready (/readyz) gets, as its very first work, 50
    retries of one call: its indexes are built before it says ready, and the retries
    wait for the key without holding pooled connections, so none is a 503."""
    database_url = await make_database(migrated=True)
    await load_demo_into(database_url)
    number, key = _number(), secrets.token_hex(8)
    body = {"caller_number": number, "category": "crime", "location": MENTIKAN}
    limits = httpx.Limits(max_connections=PARALLEL, max_keepalive_connections=PARALLEL)
    async with dispatch_serve(database_url, tmp_path / "serve.log", env={
            "DISPATCH_RATE_LIMIT_PER_S": "100000", "DISPATCH_RATE_LIMIT_BURST": "100000",
            "DISPATCH_LOG_LEVEL": "WARNING"}) as served, httpx.AsyncClient(
            base_url=served.base_url, timeout=30, limits=limits) as fresh:
        operator = await login(fresh, "operator")
        responses = await _storm(fresh, operator, key, [body] * PARALLEL)
    statuses = [r.status_code for r in responses]
    assert statuses == [201] * PARALLEL, {s: statuses.count(s) for s in set(statuses)}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await _count_calls(database_url, number) == 1
    assert "Traceback" not in served.log()

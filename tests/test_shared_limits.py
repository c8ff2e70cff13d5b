"""The limits hold across processes: two real `dispatch serve` processes on one database.

- Requests per token: alternating between the two, the pair allows the burst (plus what
  the rate refills), not twice the burst as per-process buckets did.
- Failed log-ins per source address: the allowance is shared, and once spent both
  processes answer 429 with Retry-After, even for the right password.
- Unknown tracker ids per source address: a block made in one process holds in the
  other within a sync, although each checks it without asking the database.
- X-Forwarded-For counts only from a trusted proxy (here process A trusts 127.0.0.1;
  process B trusts nobody and counts every request against the real peer)."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.servers import Served, serve_pair

BURST = 6
RATE = 1.0
FAILURES = 4
ENV = {"DISPATCH_RATE_LIMIT_PER_S": str(RATE), "DISPATCH_RATE_LIMIT_BURST": str(BURST),
       "DISPATCH_LOGIN_FAILURES_PER_ADDRESS": str(FAILURES),
       "DISPATCH_LOG_LEVEL": "WARNING"}


@pytest.fixture(scope="module")
async def pair(make_database, tmp_path_factory: pytest.TempPathFactory,
               ) -> AsyncIterator[tuple[Served, Served]]:
    async with serve_pair(make_database, tmp_path_factory.mktemp("limits"), env=ENV,
                          first_env={"DISPATCH_TRUSTED_PROXIES": "127.0.0.1"}) as served:
        yield served

async def _login(served: Served, username: str, password: str,
                 forwarded_for: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    async with httpx.AsyncClient(base_url=served.base_url, timeout=10) as client:
        return await client.post("/auth/token", headers=headers,
                                 data={"username": username, "password": password})


async def test_requests_per_token_are_limited_across_processes(
    pair: tuple[Served, Served],
) -> None:
    token = (await _login(pair[0], "supervisor", "supervisor-demo-112")).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    statuses: dict[str, list[int]] = {"a": [], "b": []}
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=10) as client:
        for i in range(24):
            name, served = ("a", pair[0]) if i % 2 == 0 else ("b", pair[1])
            response = await client.get(f"{served.base_url}/v1/categories", headers=headers)
            statuses[name].append(response.status_code)
            if response.status_code == 429:
                assert int(response.headers["retry-after"]) >= 1
    elapsed = time.monotonic() - started
    allowed = statuses["a"].count(200) + statuses["b"].count(200)
    print(f"\nshared token limit: {allowed} of 24 allowed in {elapsed:.2f} s across two "
          f"processes (burst {BURST}, {RATE}/s)")
    assert BURST <= allowed <= BURST + math.ceil(elapsed * RATE) + 1, statuses
    assert 429 in statuses["a"] and 429 in statuses["b"]
    assert set(statuses["a"] + statuses["b"]) == {200, 429}


async def test_failed_logins_per_address_are_shared_and_forwarded_for_only_from_a_proxy(
    pair: tuple[Served, Served],
) -> None:
    first, second = pair
    # Behind the trusted proxy (A trusts 127.0.0.1): the forwarded address counts.
    behind = [(await _login(first, f"nobody{i}", "wrong", "198.51.100.7")).status_code
              for i in range(FAILURES + 1)]
    assert behind == [401] * FAILURES + [429]
    other = await _login(first, "nobody", "wrong", "198.51.100.8")
    assert other.status_code == 401  # another client behind the same proxy

    # Straight from 127.0.0.1, alternating between the processes: one allowance.
    direct = [(await _login((first, second)[i % 2], f"nobody{i}", "wrong")).status_code
              for i in range(FAILURES + 2)]
    assert direct == [401] * FAILURES + [429, 429]
    # B trusts no proxy: the header is ignored and the request counts as 127.0.0.1's.
    spoofed = await _login(second, "nobody", "wrong", "198.51.100.99")
    assert spoofed.status_code == 429
    right = await _login(second, "operator", "operator-demo-112")
    assert right.status_code == 429 and int(right.headers["retry-after"]) > 60
    assert right.headers["content-type"] == "application/problem+json"
    # The forwarded client that did not fail is still let in through A.
    assert (await _login(first, "operator", "operator-demo-112", "198.51.100.8")
            ).status_code == 200


async def test_unknown_device_ids_block_the_address_in_every_process(
    pair: tuple[Served, Served],
) -> None:
    first, second = pair
    spot = {"lat": "-7.47", "lon": "112.43"}
    known = {"id": "demo-psc119-mjk-kota-1", **spot}  # a demo ambulance's tracker
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.get(f"{second.base_url}/osmand", params=known)).status_code == 200
        guesses = [(await client.get(f"{first.base_url}/osmand", params={
            "id": f"guess-{n:010d}", **spot})).status_code for n in range(FAILURES + 1)]
        assert guesses == [404] * FAILURES + [429]
        # B never saw this address fail: its next sync reads the block back.
        deadline = time.monotonic() + 5
        while True:
            answer = await client.get(f"{second.base_url}/osmand", params=known)
            if answer.status_code != 200 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        assert answer.status_code == 429
        assert int(answer.headers["retry-after"]) >= 1

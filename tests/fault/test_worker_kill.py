"""kill -9 one of two worker processes under steady call load.

Two `dispatch serve` processes share one database (one per "worker"). Operators post calls
to both at a steady rate; a supervisor feed is connected to the survivor. The other worker
is killed with SIGKILL, restarted on a new port and killed again, ROUNDS times. What must
hold: every call answered 201 is in `calls` and its incident's `assignment.created` reaches
the survivor's feed; the survivor's clients never see an error; the log and the feed agree
(every feed event of the log is delivered once, in seq order, nothing more)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field

import asyncpg
import httpx
import pytest
import websockets

from dispatch.core.databases import plain_url
from tests.fault.conftest import Service, Services, is_log_prefix, unique_numbers

pytestmark = pytest.mark.fault

ROUNDS = 3
CLIENTS_PER_WORKER = 2
INTERVAL_S = 0.1  # each client: one call every 100 ms (20 calls/s per worker)
LOAD_BEFORE_KILL_S = 1.5
AFTER_KILL_S = 0.5
REQUEST_TIMEOUT_S = 10.0
FEED_WAIT_S = 20.0
MENTIKAN = {"lat": -7.47, "lon": 112.43}  # "crime" here → POLSEK-PRAJURITKULON


@dataclass
class Outcome:
    worker: str
    started: float
    status: int | None = None
    body: dict | None = None
    error: str | None = None


@dataclass
class Load:
    outcomes: list[Outcome] = field(default_factory=list)

    def created(self) -> list[dict]:
        return [o.body for o in self.outcomes if o.status == 201 and o.body is not None]


async def _client_loop(base_url: str, worker: str, headers: dict, numbers, stop: asyncio.Event,
                       load: Load) -> None:
    """One console: a call every INTERVAL_S (back to back if a call takes longer)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as client:
        next_at = time.monotonic()
        while not stop.is_set():
            outcome = Outcome(worker, time.monotonic())
            load.outcomes.append(outcome)
            try:
                response = await client.post("/v1/calls", headers=headers, json={
                    "caller_number": next(numbers), "category": "crime",
                    "location": MENTIKAN})
                outcome.status = response.status_code
                outcome.body = response.json() if response.status_code == 201 else None
                if response.status_code != 201:
                    outcome.error = response.text[:300]
            except httpx.HTTPError as exc:
                outcome.error = f"{type(exc).__name__}: {exc}"
            next_at += INTERVAL_S
            delay = next_at - time.monotonic()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
            else:
                next_at = time.monotonic()


async def _token(base_url: str, username: str) -> str:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        response = await client.post("/auth/token", data={
            "username": username, "password": f"{username}-demo-112"})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


async def _read_feed(ws, frames: list[dict]) -> None:
    async for text in ws:
        frames.append(json.loads(text))


async def test_kill_one_of_two_workers_under_load(demo_database: str, services: Services) -> None:
    plain = plain_url(demo_database)
    survivor = await services.start(demo_database)
    operator = {"Authorization": f"Bearer {await _token(survivor.base_url, 'operator')}"}
    supervisor = await _token(survivor.base_url, "supervisor")
    db = await asyncpg.connect(plain)
    numbers = unique_numbers("+62815")
    survivor_load, victim_load = Load(), Load()
    kills: list[tuple[float, Service]] = []
    background: list[asyncio.Task] = []  # cancelled at the end whatever happens
    try:
        since = await db.fetchval("SELECT coalesce(max(seq), 0) FROM events")
        frames: list[dict] = []
        async with websockets.connect(
            f"{survivor.ws_url}/v1/feed?since={since}&token={supervisor}",
            open_timeout=10, close_timeout=2,
        ) as ws:
            reader = asyncio.create_task(_read_feed(ws, frames))
            background.append(reader)
            stop_survivor = asyncio.Event()
            survivor_clients = [
                asyncio.create_task(_client_loop(survivor.base_url, "survivor", operator,
                                                 numbers, stop_survivor, survivor_load))
                for _ in range(CLIENTS_PER_WORKER)
            ]
            background += survivor_clients
            for _ in range(ROUNDS):
                victim = await services.start(demo_database)
                stop_victim = asyncio.Event()
                victim_clients = [
                    asyncio.create_task(_client_loop(victim.base_url, "victim", operator,
                                                     numbers, stop_victim, victim_load))
                    for _ in range(CLIENTS_PER_WORKER)
                ]
                background += victim_clients
                await asyncio.sleep(LOAD_BEFORE_KILL_S)
                victim.kill9()
                kills.append((time.monotonic(), victim))
                await asyncio.sleep(AFTER_KILL_S)
                stop_victim.set()
                async with asyncio.timeout(REQUEST_TIMEOUT_S + 5):
                    await asyncio.gather(*victim_clients)
                async with asyncio.timeout(10):
                    await victim.process.wait()
            await asyncio.sleep(0.5)
            stop_survivor.set()
            async with asyncio.timeout(REQUEST_TIMEOUT_S + 5):
                await asyncio.gather(*survivor_clients)

            created = survivor_load.created() + victim_load.created()
            expected_incidents = {c["incident"]["id"] for c in created}
            through = await db.fetchval(
                "SELECT coalesce(max(seq), 0) FROM events WHERE payload IS NOT NULL")
            deadline = time.monotonic() + FEED_WAIT_S
            while time.monotonic() < deadline:
                log = [r["seq"] for r in await db.fetch(
                    "SELECT seq FROM events WHERE seq > $1 AND payload IS NOT NULL "
                    "ORDER BY seq", since)]
                seen = {f["incident"]["id"] for f in frames if f["type"] == "assignment.created"}
                if expected_incidents <= seen and is_log_prefix(
                        [f["seq"] for f in frames], log, after=since, through=through):
                    break
                await asyncio.sleep(0.2)
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                await reader

        # The survivor's clients saw no error at all, before, during or after the kills.
        survivor_errors = [o for o in survivor_load.outcomes if o.status != 201]
        assert not survivor_errors, survivor_errors[:5]
        # The victim answered nothing but 201 while alive; after SIGKILL only transport errors.
        victim_statuses = {o.status for o in victim_load.outcomes if o.status is not None}
        assert victim_statuses <= {201}, [o for o in victim_load.outcomes
                                          if o.status not in (None, 201)][:5]
        assert len(victim_load.created()) >= ROUNDS, "the victim must have taken calls"
        assert len(survivor_load.created()) >= 20

        # Every 201 is in the database.
        call_ids = [uuid.UUID(c["id"]) for c in created]
        stored = {r["id"] for r in await db.fetch(
            "SELECT id FROM calls WHERE id = ANY($1::uuid[])", call_ids)}
        missing = [str(c) for c in call_ids if c not in stored]
        assert not missing, f"{len(missing)} calls answered 201 are not stored: {missing[:5]}"

        # Nothing half-done by the killed processes: every stored call of this test has its
        # incident, and every incident its assignment.created event.
        orphans = await db.fetchval(
            "SELECT count(*) FROM calls c WHERE c.incident_id IS NULL "
            "OR NOT EXISTS (SELECT 1 FROM events e WHERE e.incident_id = c.incident_id "
            "AND e.type = 'assignment.created')")
        assert orphans == 0
        childless = await db.fetchval(
            "SELECT count(*) FROM incidents i WHERE NOT EXISTS "
            "(SELECT 1 FROM calls c WHERE c.incident_id = i.id)")
        assert childless == 0

        # Every 201's assignment.created reached the survivor's feed subscriber...
        seen = {f["incident"]["id"] for f in frames if f["type"] == "assignment.created"}
        lost = expected_incidents - seen
        assert not lost, f"{len(lost)} incidents never reached the feed: {sorted(lost)[:5]}"
        # ...and the feed is exactly the log: every event once, in increasing seq, no gap.
        seqs = [f["seq"] for f in frames]
        assert seqs == sorted(set(seqs))
        log = [r["seq"] for r in await db.fetch(
            "SELECT seq FROM events WHERE seq > $1 AND payload IS NOT NULL ORDER BY seq",
            since)]
        assert is_log_prefix(seqs, log, after=since, through=through), (
            f"feed != log: {len(seqs)} frames, missing {sorted(set(log) - set(seqs))[:5]}")
    finally:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await db.close()
    kill_times = [at for at, _ in kills]
    in_flight = sum(1 for o in victim_load.outcomes if o.error and any(
        o.started < at < o.started + REQUEST_TIMEOUT_S for at in kill_times))
    print(f"\nworker kill: {ROUNDS} kills; calls 201 survivor={len(survivor_load.created())} "
          f"victim={len(victim_load.created())}; in flight at a kill and cut={in_flight}; "
          f"feed frames={len(frames)}; lost=0")


"""Lose the database primary under load and promote its synchronous standby (issue 24).

Two private clusters: a primary and a streaming standby made with `pg_basebackup -R`,
synchronous (`synchronous_standby_names` names it, `synchronous_commit = on`), so a commit
returns only once the standby has flushed its WAL. `dispatch serve --workers 2` connects
through one multi-host URL, `postgresql://…@127.0.0.1:P,127.0.0.1:S/siaga112?
target_session_attrs=read-write` (the libpq form, as an operator would write it), while
operators post calls at a steady rate, /readyz is polled and supervisors watch the feed.
The primary's postmaster and all its processes are SIGKILLed at once (a power cut), the
room runs NO_PRIMARY_S without a primary, then `pg_ctl promote` (standing in for Patroni)
makes the standby the primary. What must hold:
- while there is no primary every request is answered 503 problem+json with Retry-After
  (never 500, no hang), and /readyz says 503;
- writes resume by themselves within WRITE_LIMIT_S of the promotion (nothing restarted,
  no setting changed: the connections find the new primary through the URL);
- every call answered 201 is on the promoted database;
- the background loops outlive the failover (the stats publisher appends stats.updated on
  the promoted database);
- a supervisor that left before the kill and reconnects with since=<last seq> afterwards,
  and one connected across the failover, each receive every feed event of the promoted
  database's log exactly once, in seq order."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
import websockets

from dispatch.core.databases import plain_url
from tests.fault.conftest import PrivateCluster, is_log_prefix, unique_numbers
from tests.fault.test_database_restart import (
    Outcome,
    Record,
    _log_seqs,
    _read_feed,
    _send,
    _steady,
)
from tests.servers import dispatch_serve

pytestmark = pytest.mark.fault

CLIENTS = 2
INTERVAL_S = 0.1  # 2 consoles × 10 calls/s
BEFORE_S = 2.0
NO_PRIMARY_S = 3.0  # stands in for the tool's detection time (Patroni: up to ttl, 30 s)
AFTER_S = 3.0  # load kept up after the first write on the promoted database
STATS_INTERVAL_S = 1.0  # the stats publisher (a background loop) must outlive the failover
WRITE_LIMIT_S = 30.0
REQUEST_TIMEOUT_S = 8.0
FEED_WAIT_S = 20.0
MENTIKAN = {"lat": -7.47, "lon": 112.43}


def multi_host_url(*clusters: PrivateCluster) -> str:
    hosts = ",".join(f"127.0.0.1:{c.port}" for c in clusters)
    return f"postgresql://postgres@{hosts}/siaga112?target_session_attrs=read-write"


async def test_primary_lost_and_standby_promoted_under_load(
    private_pair: tuple[PrivateCluster, PrivateCluster], tmp_path: Path
) -> None:
    primary, standby = private_pair
    promoted_dsn = plain_url(standby.url)
    since = (await _log_seqs(plain_url(primary.url), 0) or [0])[-1]
    async with dispatch_serve(multi_host_url(primary, standby), tmp_path / "serve.log",
                              workers=2, env={"DISPATCH_LOG_LEVEL": "WARNING",
                                   "DISPATCH_STATS_INTERVAL_S": str(STATS_INTERVAL_S)}
                              ) as served:
        base_url, ws_url = served.base_url, f"ws://127.0.0.1:{served.port}"
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as api:
            tokens = {}
            for name in ("operator", "supervisor"):
                response = await api.post("/auth/token", data={
                    "username": name, "password": f"{name}-demo-112"})
                assert response.status_code == 200, response.text
                tokens[name] = response.json()["access_token"]
        operator = {"Authorization": f"Bearer {tokens['operator']}"}
        numbers = unique_numbers("+62817")
        record = Record()
        sent: dict[int, str] = {}  # id(outcome) → caller number
        feed_url = f"{ws_url}/v1/feed?token={tokens['supervisor']}"

        async def post_call(client: httpx.AsyncClient) -> None:
            outcome = Outcome(time.monotonic())
            record.calls.append(outcome)
            number = next(numbers)
            sent[id(outcome)] = number
            await _send(client, outcome, "POST", "/v1/calls", headers=operator, json={
                "caller_number": number, "category": "crime", "location": MENTIKAN})

        async def poll_ready(client: httpx.AsyncClient) -> None:
            outcome = Outcome(time.monotonic())
            record.ready.append(outcome)
            await _send(client, outcome, "GET", "/readyz")

        across: list[dict] = []
        before: list[dict] = []
        after: list[dict] = []
        async with websockets.connect(f"{feed_url}&since={since}", open_timeout=10,
                                      close_timeout=2) as ws_across:
            across_reader = asyncio.create_task(_read_feed(ws_across, across))
            ws_before = await websockets.connect(f"{feed_url}&since={since}",
                                                 open_timeout=10, close_timeout=2)
            before_reader = asyncio.create_task(_read_feed(ws_before, before))
            stop = asyncio.Event()
            load = [asyncio.create_task(_steady(base_url, stop, INTERVAL_S, post_call))
                    for _ in range(CLIENTS)]
            load.append(asyncio.create_task(_steady(base_url, stop, 0.2, poll_ready)))
            try:
                await asyncio.sleep(BEFORE_S)
                await ws_before.close()
                before_reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                    await before_reader
                resume_from = before[-1]["seq"] if before else since

                killed = time.monotonic()
                primary.kill9()
                await asyncio.sleep(NO_PRIMARY_S)
                promoting = time.monotonic()
                await standby.promote()  # returns once the standby accepts writes
                promoted, promoted_at = time.monotonic(), datetime.now(UTC)
                deadline = promoted + WRITE_LIMIT_S
                while time.monotonic() < deadline:
                    if any(o.status == 201 and o.started >= promoted for o in record.calls):
                        break
                    await asyncio.sleep(0.05)
                await asyncio.sleep(AFTER_S)
            finally:
                stop.set()
                async with asyncio.timeout(REQUEST_TIMEOUT_S + 5):
                    await asyncio.gather(*load, return_exceptions=True)

            async with websockets.connect(f"{feed_url}&since={resume_from}", open_timeout=10,
                                          close_timeout=2) as ws_after:
                after_reader = asyncio.create_task(_read_feed(ws_after, after))
                expected = {o.body["incident"]["id"] for o in record.calls
                            if o.status == 201 and o.body}
                through = (await _log_seqs(promoted_dsn, since) or [since])[-1]
                log: list[int] = []
                wait_until = time.monotonic() + FEED_WAIT_S
                while time.monotonic() < wait_until:
                    log = await _log_seqs(promoted_dsn, since)
                    seen = {f["incident"]["id"] for f in across
                            if f["type"] == "assignment.created"}
                    if (expected <= seen
                            and is_log_prefix([f["seq"] for f in across], log, after=since,
                                              through=through)
                            and is_log_prefix([f["seq"] for f in after], log,
                                              after=resume_from, through=through)):
                        break
                    await asyncio.sleep(0.2)
                still_open = not across_reader.done()
                for task in (after_reader, across_reader):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError,
                                             websockets.ConnectionClosed):
                        await task
                log = await _log_seqs(promoted_dsn, since)
        server_log = served.log()

    calls, ready = record.calls, record.ready
    created = [o for o in calls if o.status == 201 and o.body]
    unavailable = [o for o in calls if o.status == 503]
    conn = await asyncpg.connect(promoted_dsn, timeout=5)
    try:
        in_recovery = await conn.fetchval("SELECT pg_is_in_recovery()")
        ids = [uuid.UUID(o.body["id"]) for o in created if o.body]
        stored = {r["id"] for r in await conn.fetch(
            "SELECT id FROM calls WHERE id = ANY($1::uuid[])", ids)}
        numbers_503 = [sent[id(o)] for o in unavailable]
        stored_503 = await conn.fetchval(
            "SELECT count(*) FROM calls WHERE caller_number = ANY($1::text[])", numbers_503)
        stats_after = await conn.fetchval(
            "SELECT count(*) FROM events WHERE type = 'stats.updated' AND at > $1",
            promoted_at)
    finally:
        await conn.close()
    slowest = max(o.finished - o.started for o in calls + ready)
    # Requests that started after the kill and ended before the promotion began: no primary.
    during = [o for o in calls if killed + 0.1 <= o.started and o.finished <= promoting]
    ready_during = [o for o in ready if killed + 0.1 <= o.started and o.finished <= promoting]
    first_write = min((o.finished for o in calls if o.status == 201 and o.started >= promoted),
                      default=float("inf"))
    last_before = max((o.finished for o in calls if o.status == 201 and o.started < killed),
                      default=killed)
    tail = [o for o in calls if o.started >= first_write + 0.5]
    across_seqs = [f["seq"] for f in across]
    seen = {f["incident"]["id"] for f in across if f["type"] == "assignment.created"}
    summary = (
        f"no primary for {promoted - killed:.2f}s (promote took {promoted - promoting:.2f}s); "
        f"calls {len(calls)} (201: {len(created)}, 503: {len(unavailable)}, of which stored "
        f"anyway: {stored_503}, other: "
        f"{sum(1 for o in calls if o.status not in (201, 503))}); /readyz polls {len(ready)}; "
        f"first write {first_write - promoted:.2f}s after the promotion ("
        f"{first_write - last_before:.2f}s after the last write before the kill); slowest "
        f"request {slowest:.2f}s; feed events checked {len(log)} (across: "
        f"{len(across_seqs)}, reconnected: {len(after)}); stats.updated after the "
        f"promotion {stats_after}")
    print(f"\nfailover: {summary}")

    problems: list[str] = []

    def check(ok: bool, what: str) -> None:
        if not ok:
            problems.append(what)

    check(in_recovery is False, "the standby did not become a primary")
    errors = [o.error for o in calls + ready if o.error]
    check(not errors, f"transport errors or time-outs: {errors[:3]}")
    others = [(round(o.started - killed, 2), o.status, o.body) for o in calls
              if o.status not in (201, 503)]
    check(not others, f"{len(others)} calls answered neither 201 nor 503 (s after the kill, "
                      f"status, body): {others[:3]}")
    check("Traceback" not in server_log,
          f"a traceback in the server log: {server_log[server_log.find('Traceback'):][:1500]}")
    check(all(o.content_type == "application/problem+json" and o.retry_after is not None
              and o.body is not None and o.body.get("status") == 503 for o in unavailable),
          "a 503 without problem+json or Retry-After")
    check(slowest < REQUEST_TIMEOUT_S, f"a request took {slowest:.1f}s")
    check(len(during) >= 10 and all(o.status == 503 for o in during),
          f"without a primary: {len(during)} calls, not 503: "
          f"{[(o.status, o.body) for o in during if o.status != 503][:3]}")
    check(bool(ready_during) and all(o.status == 503 for o in ready_during),
          "/readyz did not say 503 while there was no primary")
    check(first_write - promoted <= WRITE_LIMIT_S,
          f"no write within {WRITE_LIMIT_S:.0f}s of the promotion")
    check(bool(tail) and all(o.status == 201 for o in tail), "errors after writes resumed: "
          f"{[(o.status, o.body) for o in tail if o.status != 201][:3]}")
    check(stats_after > 0, "no stats.updated after the promotion: the publisher loop died")
    check(set(ids) == stored, f"{len(set(ids) - stored)} calls answered 201 are not on the "
                              "promoted database")
    check(still_open, "the subscriber connected across the failover was disconnected")
    check(is_log_prefix(across_seqs, log, after=since, through=through),
          f"feed across the failover != promoted log: {len(across_seqs)} frames, {len(log)} "
          f"events; missing {sorted(set(log) - set(across_seqs))[:5]}; not in the log "
          f"{sorted(set(across_seqs) - set(log))[:5]}")
    check(expected <= seen, f"201 incidents missing on the feed: {sorted(expected - seen)[:3]}")
    check([f["seq"] for f in before] == [s for s in log if s <= resume_from],
          "the subscriber that left before the kill got events the promoted log lacks, or "
          "missed some")
    check(is_log_prefix([f["seq"] for f in after], log, after=resume_from, through=through),
          "reconnecting with since=<last seq> did not give exactly the missed events")
    assert not problems, "\n".join([summary, *problems])

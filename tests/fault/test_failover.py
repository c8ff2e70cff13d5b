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
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from dispatch.core.databases import plain_url
from tests.fault import scenario
from tests.fault.conftest import PrivateCluster, unique_numbers
from tests.servers import dispatch_serve

pytestmark = pytest.mark.fault

CLIENTS = 2
INTERVAL_S = 0.1  # 2 consoles × 10 calls/s
READY_INTERVAL_S = 0.2
BEFORE_S = 2.0
NO_PRIMARY_S = 3.0  # stands in for the tool's detection time (Patroni: up to ttl, 30 s)
AFTER_S = 3.0  # load kept up after the first write on the promoted database
STATS_INTERVAL_S = 1.0  # the stats publisher (a background loop) must outlive the failover
WRITE_LIMIT_S = 30.0


def multi_host_url(*clusters: PrivateCluster) -> str:
    hosts = ",".join(f"127.0.0.1:{c.port}" for c in clusters)
    return f"postgresql://postgres@{hosts}/siaga112?target_session_attrs=read-write"


async def test_primary_lost_and_standby_promoted_under_load(
    private_pair: tuple[PrivateCluster, PrivateCluster], tmp_path: Path
) -> None:
    primary, standby = private_pair
    promoted_dsn = plain_url(standby.url)
    since = await scenario.last_seq(plain_url(primary.url))
    async with dispatch_serve(multi_host_url(primary, standby), tmp_path / "serve.log",
                              workers=2, env={"DISPATCH_LOG_LEVEL": "WARNING",
                                   "DISPATCH_STATS_INTERVAL_S": str(STATS_INTERVAL_S)}
                              ) as served:
        operator, supervisor = await scenario.demo_tokens(served.base_url)
        feed_url = f"ws://127.0.0.1:{served.port}/v1/feed?token={supervisor}"
        async with scenario.Subscribers(feed_url, since) as feeds:
            async with scenario.Load(served.base_url, operator, unique_numbers("+62817"),
                                     clients=CLIENTS, interval=INTERVAL_S,
                                     ready_interval=READY_INTERVAL_S) as load:
                await asyncio.sleep(BEFORE_S)
                await feeds.leave_before()
                killed = time.monotonic()
                primary.kill9()
                await asyncio.sleep(NO_PRIMARY_S)
                promoting = time.monotonic()
                await standby.promote()  # returns once the standby accepts writes
                promoted, promoted_at = time.monotonic(), datetime.now(UTC)
                deadline = promoted + WRITE_LIMIT_S
                while time.monotonic() < deadline:
                    if any(o.status == 201 and o.started >= promoted for o in load.calls):
                        break
                    await asyncio.sleep(0.05)
                await asyncio.sleep(AFTER_S)
            await feeds.settle(promoted_dsn, load.created_incidents())
        server_log = served.log()

    conn = await asyncpg.connect(promoted_dsn, timeout=5)
    try:
        in_recovery = await conn.fetchval("SELECT pg_is_in_recovery()")
        unstored = await scenario.not_stored(conn, load.created)
        stored_503 = await conn.fetchval(
            "SELECT count(*) FROM calls WHERE caller_number = ANY($1::text[])",
            [o.caller_number for o in load.unavailable])
        stats_after = await conn.fetchval(
            "SELECT count(*) FROM events WHERE type = 'stats.updated' AND at > $1",
            promoted_at)
    finally:
        await conn.close()
    # Requests that started after the kill and ended before the promotion began: no primary.
    calls_during, ready_during = load.between(killed + 0.1, promoting)
    first_write = scenario.first_answered(load.calls, 201, promoted)
    last_before = max((o.finished for o in load.calls if o.status == 201 and o.started < killed),
                      default=killed)
    tail = [o for o in load.calls if o.started >= first_write + 0.5]
    summary = (
        f"no primary for {promoted - killed:.2f}s (promote took {promoted - promoting:.2f}s); "
        f"{load.tally(f', of which stored anyway: {stored_503}')}; /readyz polls "
        f"{len(load.ready)}; first write {first_write - promoted:.2f}s after the promotion ("
        f"{first_write - last_before:.2f}s after the last write before the kill); slowest "
        f"request {load.slowest:.2f}s; feed events checked {len(feeds.log)} (across: "
        f"{len(feeds.across)}, reconnected: {len(feeds.after)}); stats.updated after the "
        f"promotion {stats_after}")
    print(f"\nfailover: {summary}")

    check = scenario.Checks()
    check(in_recovery is False, "the standby did not become a primary")
    # No hang, no transport error, no 500: 201 or 503 problem+json with Retry-After.
    check.answers(load, fault_at=killed, fault="the kill")
    check("Traceback" not in server_log,
          f"a traceback in the server log: {server_log[server_log.find('Traceback'):][:1500]}")
    # No primary: every call 503, and /readyz 503.
    check.unavailable(calls_during, ready_during, when="while there was no primary")
    # Writes resume by themselves, on the promoted database, with every 201 on it.
    check(first_write - promoted <= WRITE_LIMIT_S,
          f"no write within {WRITE_LIMIT_S:.0f}s of the promotion")
    check(bool(tail) and all(o.status == 201 for o in tail), "errors after writes resumed: "
          f"{[(o.status, o.body) for o in tail if o.status != 201][:3]}")
    check(stats_after > 0, "no stats.updated after the promotion: the publisher loop died")
    check(not unstored, f"{len(unstored)} calls answered 201 are not on the promoted database")
    # Feeds: each subscriber got the promoted database's log exactly once, in seq order.
    check.feeds(feeds, fault="the failover")
    check.done(summary)

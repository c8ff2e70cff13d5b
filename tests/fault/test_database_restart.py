"""Stop and restart PostgreSQL under load (the test's private cluster, never the shared one).

A `dispatch serve` process runs against the private cluster while operators post calls at
a steady rate and /readyz is polled. The cluster is stopped (`pg_ctl stop -m fast`), left
down for OUTAGE_S, and started again. What must hold:
- during the outage every request gets 503 problem+json with Retry-After (no 500, no
  hang: each request is bounded), and /readyz says 503;
- within 5 s of the database being back the service takes calls and /readyz is 200 again,
  by itself;
- a feed subscriber connected across the outage, and one that left before it and
  reconnects with since=<last seq>, each receive every feed event of the log exactly once,
  in increasing seq (compared with the `events` table);
- every call answered 201 is stored.

The second test uses the same quiet private cluster to replay, deterministically, an
interleaving of two transactions under which the feed hub skipped a committed event."""

from __future__ import annotations

import asyncio
import contextlib
import time

import asyncpg
import pytest

from dispatch.core.databases import plain_url
from tests.fault import scenario
from tests.fault.conftest import PrivateCluster, Services, unique_numbers

pytestmark = pytest.mark.fault

CLIENTS = 3
INTERVAL_S = 0.1
READY_INTERVAL_S = 0.1
BEFORE_S = 1.5
OUTAGE_S = 3.0
AFTER_S = 3.0
RECOVERY_LIMIT_S = 5.0


async def test_database_restart_under_load(
    private_postgres: PrivateCluster, services: Services
) -> None:
    cluster = private_postgres
    plain = plain_url(cluster.url)
    service = await services.start(cluster.url)
    operator, supervisor = await scenario.demo_tokens(service.base_url)
    since = await scenario.last_seq(plain)
    feed_url = f"{service.ws_url}/v1/feed?token={supervisor}"
    async with scenario.Subscribers(feed_url, since) as feeds:
        async with scenario.Load(service.base_url, operator, unique_numbers("+62816"),
                                 clients=CLIENTS, interval=INTERVAL_S,
                                 ready_interval=READY_INTERVAL_S) as load:
            await asyncio.sleep(BEFORE_S)
            # The second subscriber leaves just before the outage, remembering its last seq.
            await feeds.leave_before()
            stopping = time.monotonic()
            cluster_down = True
            try:
                await cluster.stop("fast")
                down = time.monotonic()
                await asyncio.sleep(OUTAGE_S)
                starting = time.monotonic()
                await cluster.start()  # returns when the server accepts connections
                cluster_down = False
                up = time.monotonic()
                await asyncio.sleep(AFTER_S)
            finally:
                if cluster_down:  # leave the session's cluster running for the other tests
                    with contextlib.suppress(Exception):
                        await cluster.start()
        # Reconnect with since=<last seq seen> after the outage; wait for the feeds.
        await feeds.settle(plain, load.created_incidents())

    conn = await asyncpg.connect(plain, timeout=5)
    try:
        unstored = await scenario.not_stored(conn, load.created)
    finally:
        await conn.close()
    calls_during, ready_during = load.between(down, starting)
    call_recovery = scenario.first_answered(load.calls, 201, up) - up
    ready_recovery = scenario.first_answered(load.ready, 200, up) - up
    tail = [o for o in load.calls if o.started >= up + RECOVERY_LIMIT_S / 2]
    summary = (f"stop took {down - stopping:.2f}s, outage {starting - down:.1f}s; "
               f"{load.tally()}, /readyz polls {len(load.ready)}; recovery: calls "
               f"{call_recovery:.2f}s, readyz {ready_recovery:.2f}s; slowest request "
               f"{load.slowest:.2f}s; feed events "
               f"{sum(1 for x in feeds.log if x <= feeds.through)}")
    print(f"\ndatabase restart: {summary}")

    check = scenario.Checks()
    # No hang, no transport error, no 500: 201 or 503 problem+json with Retry-After.
    check.answers(load, fault_at=down, fault="the stop",
                  server_note=f"; server log: {service.exceptions_in_log()}")
    # During the outage: every call 503, and /readyz 503 "unreachable".
    check.unavailable(calls_during, ready_during, when="during the outage",
                      ready_database="unreachable")
    # Recovery by itself within RECOVERY_LIMIT_S of the database accepting connections.
    check(call_recovery <= RECOVERY_LIMIT_S, f"calls recovered after {call_recovery:.2f}s")
    check(ready_recovery <= RECOVERY_LIMIT_S, f"/readyz recovered after {ready_recovery:.2f}s")
    check(bool(tail) and all(o.status == 201 for o in tail), "errors after the recovery")
    # Every 201 stored.
    check(not unstored, f"{len(unstored)} calls answered 201 are not stored")
    # Feeds: no gap, no duplicate, increasing seq, for both subscribers.
    check.feeds(feeds, fault="the outage")
    check.done(summary)


APPEND = ("WITH tx AS MATERIALIZED (SELECT pg_current_xact_id()::text::bigint AS t) "
          "INSERT INTO events (type, actor, entity, entity_id, agency_codes, payload, txid) "
          "SELECT 'assignment.updated', 'test', 'test', $1, ARRAY[$2], "
          "'{\"incident\": null, \"assignment\": null}'::jsonb, tx.t FROM tx RETURNING seq")


async def test_feed_hub_waits_for_a_seq_whose_transaction_still_runs(
    private_postgres: PrivateCluster,
) -> None:
    """Found by test_slow_subscriber (a reading subscriber missed whole transactions of
    events). Transaction OLD gets its xid, then NEW gets a later xid and takes seq H, then
    OLD takes H+1 and commits. NEW still runs, yet its xid is not below the xmax of
    pg_current_snapshot() (that xmax is the latest *completed* xid + 1), so "xmin >= the
    xmax seen with the hole" is already true and the hub skips H as rolled back. When NEW
    commits, H must still reach the subscriber, before H+1. Needs a quiet cluster (the
    private one): on a busy server other commits hide the race."""
    from dispatch.core.feed_hub import FeedHub

    dsn = plain_url(private_postgres.url)
    hub = FeedHub(dsn, application_name="siaga112-xmax-test")
    await hub.start()
    old = await asyncpg.connect(dsn)
    new = await asyncpg.connect(dsn)
    try:
        async with asyncio.timeout(10):
            await hub.wait_ready()
        subscriber, _ = hub.subscribe("XMAX-TEST")
        old_tx, new_tx = old.transaction(), new.transaction()
        await old_tx.start()
        await old.fetchval("SELECT pg_current_xact_id()")
        await new_tx.start()
        seq_new = await new.fetchval(APPEND, "new", "XMAX-TEST")
        seq_old = await old.fetchval(APPEND, "old", "XMAX-TEST")
        await old_tx.commit()
        await asyncio.sleep(2.5)  # the hub polls every second: it has seen H+1 and the hole
        await new_tx.commit()
        got = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                while len(got) < 2:
                    got.append((await subscriber.queue.get()).seq)
        assert got == [seq_new, seq_old], (
            f"the subscriber got {got}; seq {seq_new} (committed last, by the transaction "
            f"with the newer xid) was skipped as if rolled back")
    finally:
        await old.close()
        await new.close()
        await hub.stop()

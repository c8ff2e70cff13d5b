"""A feed subscriber that stops reading must not hurt the others nor grow the server.

A real `dispatch serve` process; two supervisor subscribers on /v1/feed. The slow one has
a 4 KiB socket receive buffer and stops reading; the fast one reads everything. A burst of
large feed events (EVENTS x PAD bytes, far more than TCP buffers and the per-connection
queue can hold) is written to the log, and real calls are posted meanwhile. What must hold:
- the fast subscriber gets every event once, in seq order, with low latency, and the real
  calls' assignment.created within a second or two;
- the server's resident memory (VmRSS from /proc) grows by far less than the burst (the
  per-connection queue is bounded; nothing is buffered without limit);
- once the slow client reads again it gets events in order and then close code 4008 with
  `since=N`; reconnecting with that since gives exactly the rest: nothing was lost."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from pathlib import Path

import asyncpg
import httpx
import pytest
import websockets

from dispatch.core.databases import plain_url
from tests.servers import dispatch_serve
from tests.support import load_demo_into

EVENTS = 12000
CHUNK = 100
PAD = 5000  # bytes of padding per event: the burst is EVENTS * PAD = 60 MB of frames
QUEUE = 1000  # the per-connection queue (the default DISPATCH_FEED_QUEUE_SIZE)
LAG = 300  # the writer waits while the reading subscriber is more behind than this
MAX_RSS_GROWTH_MB = 32  # the burst is 60 MB; a slow client holding it all would exceed this
MAX_FAST_LATENCY_S = 3.0
MAX_CALL_LATENCY_S = 2.0
MENTIKAN = {"lat": -7.47, "lon": 112.43}

BURST = """
    WITH tx AS MATERIALIZED (SELECT pg_current_xact_id()::text::bigint AS t)
    INSERT INTO events (type, actor, entity, entity_id, agency_codes, payload, txid)
    SELECT 'assignment.updated', 'test', 'test', 'slow-' || g, ARRAY['SLOW-SUBSCRIBER-TEST'],
           jsonb_build_object('incident', null, 'assignment', null, 'n', g,
                              'pad', repeat('x', $2)), tx.t
    FROM tx, generate_series(1, $1) AS g
    RETURNING seq
"""


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def _slow_socket(port: int) -> socket.socket:
    """A connected socket with a tiny receive buffer (set before connect: it sizes the
    TCP window), so an application that stops reading quickly stops the sender."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    return sock


async def test_slow_subscriber_is_cut_off_and_others_unaffected(
    make_database, tmp_path: Path
) -> None:
    database_url = await make_database(migrated=True)
    await load_demo_into(database_url)
    plain = plain_url(database_url)
    stack = contextlib.AsyncExitStack()
    served = await stack.enter_async_context(dispatch_serve(
        database_url, tmp_path / "serve.log",
        env={"DISPATCH_LOG_LEVEL": "WARNING", "DISPATCH_FEED_QUEUE_SIZE": str(QUEUE)}))
    process, port = served.process, served.port
    base = f"127.0.0.1:{port}"
    db = await asyncpg.connect(plain)
    background: list[asyncio.Task] = []  # cancelled at the end whatever happens
    try:
        async with httpx.AsyncClient(base_url=f"http://{base}", timeout=10) as api:
            tokens = {}
            for name in ("operator", "supervisor"):
                response = await api.post("/auth/token", data={
                    "username": name, "password": f"{name}-demo-112"})
                assert response.status_code == 200
                tokens[name] = response.json()["access_token"]
            operator = {"Authorization": f"Bearer {tokens['operator']}"}
            since = await db.fetchval("SELECT coalesce(max(seq), 0) FROM events")
            url = f"ws://{base}/v1/feed?token={tokens['supervisor']}&since={since}"

            fast_frames: list[tuple[float, dict]] = []
            arrived = asyncio.Event()

            fast_closed: list[str] = []

            async def read_fast(ws) -> None:  # type: ignore[no-untyped-def]
                try:
                    async for text in ws:
                        fast_frames.append((time.monotonic(), json.loads(text)))
                        arrived.set()
                except websockets.ConnectionClosed as exc:
                    fast_closed.append(str(exc))
                else:  # the server ended it (the test cancels this task instead)
                    fast_closed.append(f"closed {ws.close_code} {ws.close_reason}")
                finally:
                    arrived.set()

            async def until_fast(done) -> None:  # type: ignore[no-untyped-def]
                while not done():
                    arrived.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(arrived.wait(), 0.5)

            rss: list[int] = []

            async def sample_rss() -> None:
                while True:
                    rss.append(_rss_kib(process.pid))
                    await asyncio.sleep(0.05)

            call_latencies: list[float] = []

            async def calls_meanwhile(stop: asyncio.Event) -> None:
                """Real calls during the burst: their events reach the fast subscriber."""
                for i in range(100):
                    if stop.is_set():
                        return
                    response = await api.post("/v1/calls", headers=operator, json={
                        "caller_number": f"+6281700000{i:03d}", "category": "crime",
                        "location": MENTIKAN})
                    assert response.status_code == 201, response.text
                    posted, incident = time.monotonic(), response.json()["incident"]["id"]

                    def seen(incident: str = incident) -> bool:
                        return any(f["type"] == "assignment.created"
                                   and f["incident"]["id"] == incident
                                   for _, f in fast_frames[-200:])

                    async with asyncio.timeout(10):
                        await until_fast(seen)
                    call_latencies.append(time.monotonic() - posted)
                    await asyncio.sleep(0.2)

            slow = await websockets.connect(url, sock=await _slow_socket(port),
                                            max_queue=4, open_timeout=10, close_timeout=2,
                                            compression=None)
            fast = await websockets.connect(url, open_timeout=10, close_timeout=2,
                                            compression=None)
            fast_reader = asyncio.create_task(read_fast(fast))
            background.append(fast_reader)
            await asyncio.sleep(0.5)
            baseline_rss = _rss_kib(process.pid)
            sampler = asyncio.create_task(sample_rss())
            background.append(sampler)
            stop_calls = asyncio.Event()
            caller = asyncio.create_task(calls_meanwhile(stop_calls))
            background.append(caller)

            # The burst. Compression is off on both sockets so the bytes really travel.
            committed: dict[int, float] = {}
            burst_started = time.monotonic()
            for _ in range(EVENTS // CHUNK):
                async with db.transaction():
                    seqs = [r["seq"] for r in await db.fetch(BURST, CHUNK, PAD)]
                    await db.execute("SELECT pg_notify('siaga112_events', '')")
                committed.update(dict.fromkeys(seqs, time.monotonic()))
                # Pace the writer on the reading subscriber (never more than LAG events
                # behind), so "fast" means "keeps reading" even on a busy test machine;
                # the stalled one falls behind without limit.
                def caught_up(newest: int = seqs[-1]) -> bool:
                    return fast_reader.done() or bool(
                        fast_frames and newest - fast_frames[-1][1]["seq"] <= LAG)

                async with asyncio.timeout(20):
                    await until_fast(caught_up)
            burst_s = time.monotonic() - burst_started
            stop_calls.set()
            async with asyncio.timeout(15):
                await caller

            log = [r["seq"] for r in await db.fetch(
                "SELECT seq FROM events WHERE seq > $1 AND payload IS NOT NULL ORDER BY seq",
                since)]
            through = log[-1]  # the stats publisher may append more later: not waited for
            async with asyncio.timeout(20):
                await until_fast(lambda: fast_reader.done() or bool(
                    fast_frames and fast_frames[-1][1]["seq"] >= through))
            await asyncio.sleep(0.5)
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler

            # The slow client reads again: frames in order, then 4008 with since=N.
            slow_seqs: list[int] = []
            async with asyncio.timeout(30):
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    while True:
                        slow_seqs.append(json.loads(await slow.recv())["seq"])
            close = closed.value.rcvd
            resumed: list[int] = []
            if close is not None and close.code == 4008:
                resume_from = int(close.reason.rsplit("since=", 1)[1])
                async with websockets.connect(
                    f"ws://{base}/v1/feed?token={tokens['supervisor']}&since={resume_from}",
                    open_timeout=10, close_timeout=2, compression=None,
                ) as again:
                    async with asyncio.timeout(20):
                        while (resumed or slow_seqs or [0])[-1] < through:
                            resumed.append(json.loads(await again.recv())["seq"])
            fast_reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                await fast_reader
            await fast.close()
            log = [r["seq"] for r in await db.fetch(  # the final log, for the checks below
                "SELECT seq FROM events WHERE seq > $1 AND payload IS NOT NULL ORDER BY seq",
                since)]
    finally:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await db.close()
        await stack.aclose()

    fast_seqs = [f["seq"] for _, f in fast_frames]
    assert not fast_closed, f"the reading subscriber was disconnected: {fast_closed}"
    latencies = [at - committed[f["seq"]] for at, f in fast_frames if f["seq"] in committed]
    growth_mb = (max(rss) - baseline_rss) / 1024
    print(f"\nslow subscriber: burst {EVENTS} events x {PAD} B in {burst_s:.1f}s; fast got "
          f"{len(fast_seqs)}, max latency {max(latencies):.2f}s; {len(call_latencies)} calls "
          f"meanwhile, feed latency max {max(call_latencies):.2f}s; server RSS "
          f"{baseline_rss // 1024} MB -> peak "
          f"{max(rss) // 1024} MB (+{growth_mb:.1f}); slow got {len(slow_seqs)} then close "
          f"{close.code if close else None} {close.reason if close else ''!r}; "
          f"resumed {len(resumed)}")
    # The fast subscriber: everything, once, in order, promptly.
    missing = sorted(set(s for s in log if s <= through) - set(fast_seqs))
    assert _log_prefix(fast_seqs, log, through), (
        f"the reading subscriber missed {len(missing)} events: {missing[:3]}..{missing[-3:]} "
        "(see tests/fault/test_database_restart.py::"
        "test_feed_hub_waits_for_a_seq_whose_transaction_still_runs)")
    assert max(latencies) < MAX_FAST_LATENCY_S
    assert max(call_latencies) < MAX_CALL_LATENCY_S
    # Memory bounded: far less than the burst stayed in the server.
    assert growth_mb < MAX_RSS_GROWTH_MB
    # The slow client was cut off with 4008 and lost nothing.
    assert close is not None and close.code == 4008, close
    assert slow_seqs == log[: len(slow_seqs)]
    assert slow_seqs[-1] < through
    assert close.reason.endswith(f"since={slow_seqs[-1]}")
    assert _log_prefix(slow_seqs + resumed, log, through)


def _log_prefix(seqs: list[int], log: list[int], through: int) -> bool:
    """Exactly the log's feed events up to the last one received (once each, in order, no
    gap), reaching at least `through`."""
    return bool(seqs) and seqs[-1] >= through and seqs == [s for s in log if s <= seqs[-1]]

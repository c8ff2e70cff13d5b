"""Live feeds: auth close codes, replay with since, order under out-of-order commits,
slow consumers, acknowledgement over the socket, and a second server process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
import websockets

from api.app import create_app
from dispatch.core.databases import plain_url
from dispatch.core.feed_hub import FeedHub
from tests.support import free_port, login, make_settings, serving, started_hub

MENTIKAN = {"lat": -7.47, "lon": 112.43}  # routed to POLSEK-PRAJURITKULON for "crime"


@pytest.fixture(scope="module")
async def server(database_url: str) -> AsyncIterator[str]:
    # The default queue: these subscribers read only after their own request, and the
    # sweepers of other apps on this database may escalate a batch of earlier tests'
    # overdue assignments meanwhile (a 20-frame queue closed a feed with 4008 once).
    app = create_app(make_settings(database_url))
    async for address in serving(app):
        yield address


@pytest.fixture(scope="module")
async def api(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://{server}") as client:
        yield client


def _token(headers: dict) -> str:
    return headers["Authorization"].split(" ", 1)[1]


async def _crime(api: httpx.AsyncClient, operator: dict, number: str = "+6281400000001") -> dict:
    response = await api.post("/v1/calls", headers=operator, json={
        "caller_number": number, "category": "crime", "location": MENTIKAN})
    assert response.status_code == 201, response.text
    return response.json()["incident"]


async def _frames(ws, count: int) -> list[dict]:
    frames = []
    async with asyncio.timeout(10):
        while len(frames) < count:
            frames.append(json.loads(await ws.recv()))
    return frames


async def _first(ws, matches) -> dict:  # type: ignore[no-untyped-def]
    """The first frame that `matches`: other incidents' frames (earlier tests' overdue
    assignments escalated by a sweeper meanwhile) are passed over."""
    async with asyncio.timeout(10):
        while True:
            frame = json.loads(await ws.recv())
            if matches(frame):
                return frame


async def _close_code(url: str) -> int:
    async with websockets.connect(url) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    return closed.value.rcvd.code


async def test_close_codes(server: str, api: httpx.AsyncClient) -> None:
    agency_a = _token(await login(api, "polsek-prajuritkulon"))
    operator = _token(await login(api, "operator"))
    base = f"ws://{server}"
    assert await _close_code(f"{base}/v1/agencies/POLSEK-PRAJURITKULON/feed") == 4401
    assert await _close_code(f"{base}/v1/agencies/POLSEK-PRAJURITKULON/feed?token=x") == 4401
    assert await _close_code(f"{base}/v1/agencies/DAMKAR-MJK/feed?token={agency_a}") == 4403
    assert await _close_code(f"{base}/v1/feed?token={agency_a}") == 4403
    assert await _close_code(f"{base}/v1/feed?token={operator}") == 4403


async def test_live_events_reach_only_the_entitled_agency(server, api) -> None:
    operator = await login(api, "operator")
    token_a = _token(await login(api, "polsek-prajuritkulon"))
    token_b = _token(await login(api, "damkar-mjk-kota"))
    base = f"ws://{server}/v1/agencies"
    async with websockets.connect(f"{base}/POLSEK-PRAJURITKULON/feed?token={token_a}") as a, \
            websockets.connect(f"{base}/DAMKAR-MJK-KOTA/feed?token={token_b}") as b:
        await asyncio.sleep(0.2)
        incident = await _crime(api, operator)
        # A hub that lags on a busy machine may still deliver earlier tests' events that
        # came after the connection point; every frame must be A's own all the same.
        frame = {}
        while frame.get("incident", {}).get("id") != incident["id"]:
            [frame] = await _frames(a, 1)
            if frame["assignment"] is not None:  # else an earlier incident's update
                assert frame["assignment"]["agency"]["code"] == "POLSEK-PRAJURITKULON"
        assert frame["type"] == "assignment.created"
        assert set(frame) >= {"seq", "type", "at", "incident", "assignment"}
        seen_by_b = []
        with pytest.raises(TimeoutError):
            while True:
                seen_by_b.append(json.loads(await asyncio.wait_for(b.recv(), 1.5)))
        # Earlier tests' incident.updated/closed frames carry "assignment": null.
        assert all(f["assignment"]["agency"]["code"] == "DAMKAR-MJK-KOTA"
                   for f in seen_by_b if f["assignment"] is not None)
        assert incident["id"] not in {f["incident"]["id"] for f in seen_by_b}


async def test_reconnect_with_since_gets_exactly_what_was_missed(server, api) -> None:
    operator = await login(api, "operator")
    token = _token(await login(api, "polsek-prajuritkulon"))
    url = f"ws://{server}/v1/agencies/POLSEK-PRAJURITKULON/feed?token={token}"
    async with websockets.connect(url) as ws:
        await asyncio.sleep(0.2)
        await _crime(api, operator)
        [seen] = await _frames(ws, 1)
    missed = [await _crime(api, operator, f"+62814000001{i:02d}") for i in range(3)]
    async with websockets.connect(f"{url}&since={seen['seq']}") as ws:
        frames = await _frames(ws, 3)
        later = []  # other tests' earlier incidents may be escalated meanwhile: not repeats
        with contextlib.suppress(TimeoutError):
            while True:
                later.append(json.loads(await asyncio.wait_for(ws.recv(), 1.0)))
    assert [f["incident"]["id"] for f in frames] == [m["id"] for m in missed]
    missed_ids = {m["id"] for m in missed}
    assert [f for f in later if (f.get("incident") or {}).get("id") in missed_ids] == []
    seqs = [f["seq"] for f in frames]
    assert seqs == sorted(seqs) and seqs[0] > seen["seq"]


async def test_ack_over_the_socket(server, api) -> None:
    operator = await login(api, "operator")
    token = _token(await login(api, "polsek-prajuritkulon"))
    url = f"ws://{server}/v1/agencies/POLSEK-PRAJURITKULON/feed?token={token}"
    async with websockets.connect(url) as ws:
        await asyncio.sleep(0.2)
        incident = await _crime(api, operator)
        created = await _first(ws, lambda f: f.get("type") == "assignment.created"
                               and f["incident"]["id"] == incident["id"])
        assignment_id = created["assignment"]["id"]
        await ws.send(json.dumps({"ack": assignment_id}))
        reply = update = None
        while reply is None or update is None:  # the two may come in either order
            frame = await _first(ws, lambda f: f.get("type") == "ack.ok" or (
                f.get("type") == "assignment.updated"
                and (f.get("assignment") or {}).get("id") == assignment_id))
            if frame["type"] == "ack.ok":
                reply = frame
            else:
                update = frame
        await ws.send(json.dumps({"ack": assignment_id}))
        again = await _first(ws, lambda f: "status_now" in f)
    assert reply == {"type": "ack.ok", "assignment_id": assignment_id}
    assert update["assignment"]["status"] == "acknowledged"
    assert update["incident"]["id"] == incident["id"]
    assert again["status"] == 409 and again["status_now"] == "acknowledged"


APPEND = ("WITH tx AS MATERIALIZED (SELECT pg_current_xact_id()::text::bigint AS t) "
          "INSERT INTO events (type, actor, entity, entity_id, agency_codes, payload, txid) "
          "SELECT 'assignment.updated', 'test', 'test', $1, ARRAY[$2], "
          "'{\"incident\": null, \"assignment\": null}'::jsonb, tx.t FROM tx RETURNING seq")


async def test_slow_subscriber_overflows_without_stalling_others(database_url: str) -> None:
    """Each subscriber has a bounded queue: one that never reads overflows (and its
    connection is then closed), while a reading one gets every event."""
    dsn = plain_url(database_url)
    hub = FeedHub(dsn, queue_size=50)
    async with started_hub(hub) as writer:
        slow, _ = hub.subscribe("SLOW-TEST")
        fast, _ = hub.subscribe("SLOW-TEST")
        received: list[int] = []

        async def drain() -> None:
            while len(received) < 60:
                received.append((await fast.queue.get()).seq)

        reader = asyncio.create_task(drain())
        for burst in range(6):
            async with writer.transaction():
                for i in range(10):
                    await writer.fetchval(APPEND, f"{burst}-{i}", "SLOW-TEST")
            await asyncio.sleep(0.3)
        async with asyncio.timeout(10):
            await reader
        assert received == sorted(received) and len(set(received)) == 60
        assert slow.overflowed.is_set()
        assert slow.queue.qsize() == 50  # bounded: nothing beyond the queue is kept
        assert not fast.overflowed.is_set()


class _StuckSocket:
    """A WebSocket whose client reads nothing: sends never complete."""

    def __init__(self) -> None:
        self.closed_with: tuple[int, str] | None = None

    async def send_text(self, _text: str) -> None:
        await asyncio.Event().wait()

    async def close(self, code: int, reason: str = "") -> None:
        self.closed_with = (code, reason)


async def test_overflowed_connection_closes_with_4008_and_since() -> None:
    from api.feeds import _Connection
    from dispatch.accounts.tokens import Principal
    from dispatch.core.feed_hub import FeedEvent, Subscriber

    socket = _StuckSocket()
    connection = _Connection(socket, Principal("u", "sup", "supervisor", None), None)  # type: ignore[arg-type]
    connection.last_sent = 41
    subscriber = Subscriber(None, asyncio.Queue(2))
    subscriber.overflowed.set()
    async with asyncio.timeout(5):
        await connection.live(subscriber)
    assert socket.closed_with == (4008, "too slow: reconnect with since=41")
    assert FeedEvent(1, (), "{}").visible_to(None)


async def test_out_of_order_commit_is_delivered_in_seq_order(database_url: str) -> None:
    """T1 takes a seq, T2 takes a later one and commits first: the hub must not hand out
    T2's event until T1 has committed (or rolled back)."""
    dsn = plain_url(database_url)
    hub = FeedHub(dsn)
    await hub.start()
    first = await asyncpg.connect(dsn)
    second = await asyncpg.connect(dsn)
    try:
        async with asyncio.timeout(10):
            await hub.wait_ready()
        subscriber, _ = hub.subscribe("ORDER-TEST")
        t1 = first.transaction()
        await t1.start()
        seq1 = await first.fetchval(APPEND, "t1", "ORDER-TEST")
        async with second.transaction():
            seq2 = await second.fetchval(APPEND, "t2", "ORDER-TEST")
        assert seq2 > seq1
        await asyncio.sleep(2.5)  # the hub polls every second: T2's event is visible now
        assert subscriber.queue.empty()
        await t1.commit()
        async with asyncio.timeout(5):
            got = [await subscriber.queue.get(), await subscriber.queue.get()]
        assert [e.seq for e in got] == [seq1, seq2]

        # A rolled-back seq is a hole the hub must skip, not wait on forever.
        t3 = first.transaction()
        await t3.start()
        await first.fetchval(APPEND, "t3", "ORDER-TEST")
        async with second.transaction():
            seq4 = await second.fetchval(APPEND, "t4", "ORDER-TEST")
        await t3.rollback()
        async with asyncio.timeout(5):
            after_hole = await subscriber.queue.get()
        assert after_hole.seq == seq4
    finally:
        await first.close()
        await second.close()
        await hub.stop()


async def test_second_process_sees_events_from_the_first(
    database_url: str, api: httpx.AsyncClient
) -> None:
    """A subscriber on another `dispatch serve` process receives events created here."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url,
           "DISPATCH_SECRET_KEY": make_settings(database_url).secret_key,
           "DISPATCH_PORT": str(port), "DISPATCH_LOG_LEVEL": "WARNING"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dispatch.tools.cli", "serve", env=env)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as other:
            for _ in range(100):
                try:
                    if (await other.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        operator = await login(api, "operator")
        token = _token(await login(api, "polsek-prajuritkulon"))
        url = f"ws://127.0.0.1:{port}/v1/agencies/POLSEK-PRAJURITKULON/feed?token={token}"
        async with websockets.connect(url) as ws:
            await asyncio.sleep(0.3)
            incident = await _crime(api, operator, "+6281422200001")
            frame = await _first(ws, lambda f: f.get("type") == "assignment.created" and (
                f.get("incident") or {}).get("id") == incident["id"])
        assert frame["assignment"]["agency"]["code"] == "POLSEK-PRAJURITKULON"
    finally:
        process.terminate()
        async with asyncio.timeout(10):
            await process.wait()


async def test_hub_reconnects_after_losing_its_connections(database_url: str) -> None:
    """The database drops the hub's connections (as in a restart): it reconnects by itself
    and delivers what was written meanwhile, in order."""
    dsn = plain_url(database_url)
    name = "siaga112-feed-reconnect-test"
    hub = FeedHub(dsn, application_name=name)
    await hub.start()
    admin = await asyncpg.connect(dsn)
    try:
        async with asyncio.timeout(10):
            await hub.wait_ready()
        subscriber, _ = hub.subscribe("RECONNECT-TEST")
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = $1 AND datname = current_database()", name)
        assert killed == 2
        seqs = [await admin.fetchval(APPEND, f"r{i}", "RECONNECT-TEST") for i in range(3)]
        async with asyncio.timeout(10):
            got = [(await subscriber.queue.get()).seq for _ in range(3)]
        assert got == seqs
        back = 0
        for _ in range(50):  # both connections come back within a few seconds
            back = await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1"
                " AND datname = current_database()", name)
            if back == 2:
                break
            await asyncio.sleep(0.1)
        assert back == 2
    finally:
        await admin.close()
        await hub.stop()


async def test_a_feed_lives_no_longer_than_its_token(database_url: str) -> None:
    """A socket opened with a token about to expire is closed with 4401 when it does."""
    app = create_app(make_settings(database_url, token_ttl_s=2))
    async for address in serving(app):
        async with httpx.AsyncClient(base_url=f"http://{address}") as client:
            token = _token(await login(client, "supervisor"))
        async with websockets.connect(f"ws://{address}/v1/feed?token={token}") as ws:
            started = time.monotonic()
            with pytest.raises(websockets.ConnectionClosed):
                async with asyncio.timeout(6):
                    async for _ in ws:
                        pass
            assert ws.close_code == 4401 and "expired" in ws.close_reason
            assert time.monotonic() - started < 4.5

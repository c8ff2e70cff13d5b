"""What one account can hold open, with two real server processes on one database:
at most `DISPATCH_MAX_SOCKETS_PER_USER` feed sockets across both (the next is closed with
4429 and a reason), a place freed by a close is free on the other process at once, and a
client frame over 64 KiB closes the socket with 1009 while smaller bad frames only get a
problem answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import websockets

from tests.servers import Served, serve_pair

LIMIT = 3
ENV = {"DISPATCH_LOG_LEVEL": "WARNING", "DISPATCH_MAX_SOCKETS_PER_USER": str(LIMIT)}
AGENCY = "PSC119-MJK-KOTA"


@pytest.fixture(scope="module")
async def pair(make_database, tmp_path_factory: pytest.TempPathFactory,
               ) -> AsyncIterator[tuple[Served, Served]]:
    async with serve_pair(make_database, tmp_path_factory.mktemp("sockets"),
                          env=ENV) as served:
        yield served

async def _token(served: Served, username: str) -> str:
    async with httpx.AsyncClient(base_url=served.base_url, timeout=10) as client:
        response = await client.post("/auth/token", data={
            "username": username, "password": f"{username}-demo-112"})
        return str(response.json()["access_token"])


async def _open(served: Served, token: str) -> Any:
    """A feed socket that the server kept open (it answers an ack frame), or the close code
    and reason it was refused with."""
    ws = await websockets.connect(
        f"ws://127.0.0.1:{served.port}/v1/agencies/{AGENCY}/feed?token={token}",
        max_size=None)
    try:
        await ws.send(orjson.dumps({"ack": "not-a-uuid"}).decode())
        answer = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
        assert answer["status"] == 422
        return ws
    except websockets.ConnectionClosed:
        return ws.close_code, ws.close_reason


async def test_sockets_per_account_are_limited_across_processes(
    pair: tuple[Served, Served],
) -> None:
    a, b = pair
    token = await _token(a, AGENCY.lower())
    other_account = await _token(a, "supervisor")
    opened = [await _open(a, token), await _open(b, token), await _open(a, token)]
    assert all(not isinstance(ws, tuple) for ws in opened)
    for served in (a, b):
        refused = await _open(served, token)
        assert isinstance(refused, tuple), "a socket over the limit was kept open"
        code, reason = refused
        assert code == 4429
        assert f"at most {LIMIT}" in reason
    supervisor_socket = await _open(b, other_account)  # another account is not affected
    assert not isinstance(supervisor_socket, tuple)
    await opened[0].close()
    await asyncio.sleep(0.3)  # the server notices the close and forgets the row
    again = await _open(b, token)
    assert not isinstance(again, tuple), again
    for ws in (*opened[1:], again, supervisor_socket):
        await ws.close()


async def test_a_frame_over_64_kib_closes_the_socket_with_1009(
    pair: tuple[Served, Served],
) -> None:
    a, _ = pair
    token = await _token(a, "supervisor")
    ws = await _open(a, token)
    await ws.send("x" * (60 * 1024))  # under the limit: a bad frame, answered
    answer = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
    assert answer["status"] == 422
    with pytest.raises(websockets.ConnectionClosed):  # while sending, or right after
        await ws.send("x" * (4 * 1024 * 1024))
        await asyncio.wait_for(ws.recv(), 10)
    assert ws.close_code == 1009
    assert "exceeds limit of 65536 bytes" in ws.close_reason
    async with httpx.AsyncClient(base_url=a.base_url, timeout=10) as client:
        assert (await client.get("/healthz")).status_code == 200

"""Helpers shared by the tests (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import httpx
from fastapi import FastAPI

from dispatch.core.feed_hub import FeedHub
from dispatch.core.settings import Settings


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "secret_key": "test-secret-key-" + "x" * 32,
        "ack_timeout_s": [60, 120, 300, 600],
        "stats_interval_s": 3600.0,  # tests that want stats.updated events set it low
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


async def started_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://siaga112") as client:
            yield client


async def login(client: httpx.AsyncClient, username: str, password: str | None = None) -> dict:
    """Authorization header for a demo user (demo passwords are `<username>-demo-112`)."""
    response = await client.post(
        "/auth/token",
        data={"username": username, "password": password or f"{username}-demo-112"},
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Run the app under a real uvicorn server in this event loop (for WebSockets);
    yields its base URL."""
    import asyncio

    import uvicorn

    port = free_port()
    # Keep-alive longer than any pause in a test: with uvicorn's 5 s, a client reusing a
    # connection the moment the server closes it gets a ReadError (seen once on a loaded
    # machine, in the idempotency storm). Clients of the real service retry.
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           ws_ping_interval=5, ws_ping_timeout=5,
                                           timeout_keep_alive=120))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110  (uvicorn exposes only a flag)
        await asyncio.sleep(0.02)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def load_demo_into(url: str) -> None:
    """Load the bundled demo region into the database at `url` (one transaction)."""
    from dispatch.tools.demo import load_demo_into as load

    await load(url)


async def demo_settings_with_idle_sweeper(
    make_database: Callable[..., Awaitable[str]],
) -> Settings:
    """Settings for a fresh migrated database with the demo region, whose app's own
    sweeper sweeps once at start and then sleeps an hour: a test drives the sweep itself."""
    url = await make_database(migrated=True)
    await load_demo_into(url)
    return make_settings(url, escalation_sweep_interval_s=3600.0)


@contextlib.asynccontextmanager
async def started_hub(hub: FeedHub) -> AsyncIterator[asyncpg.Connection]:
    """`hub` started and ready (it has read the log once), with a writer connection to
    its database; both stopped at the end."""
    writer: asyncpg.Connection | None = None
    try:
        await hub.start()
        writer = await asyncpg.connect(hub._dsn)
        async with asyncio.timeout(10):
            await hub.wait_ready()
        yield writer
    finally:
        if writer is not None:
            await writer.close()
        await hub.stop()

"""The supervisors' feed carries stats.updated with the current shift's figures."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
import websockets

from api.app import create_app
from dispatch.core.db import make_engine, make_sessionmaker, transaction
from dispatch.stats.feed import publish_if_due
from tests.support import load_demo_into, login, make_settings, serving


async def test_publishes_when_due_and_changed(make_database) -> None:
    url = await make_database(migrated=True)
    await load_demo_into(url)
    settings = make_settings(url, stats_interval_s=5.0)
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    now = datetime.now(UTC)
    try:
        async with transaction(sessions) as session:
            first = await publish_if_due(session, settings, now)
        async with transaction(sessions) as session:
            too_soon = await publish_if_due(session, settings, now + timedelta(seconds=1))
        async with transaction(sessions) as session:
            unchanged = await publish_if_due(session, settings, now + timedelta(seconds=60))
    finally:
        await engine.dispose()
    assert first is not None
    assert too_soon is None and unchanged is None


async def test_supervisor_feed_receives_stats_updated(make_database) -> None:
    url = await make_database(migrated=True)
    await load_demo_into(url)
    app = create_app(make_settings(url, stats_interval_s=0.5))
    async for address in serving(app):
        async with httpx.AsyncClient(base_url=f"http://{address}") as api:
            supervisor = (await login(api, "supervisor"))["Authorization"].split()[1]
            operator = await login(api, "operator")
            async with websockets.connect(f"ws://{address}/v1/feed?token={supervisor}") as ws:
                await asyncio.sleep(0.3)
                await api.post("/v1/calls", headers=operator, json={
                    "caller_number": "+6281600000001"})
                frame = None
                async with asyncio.timeout(15):
                    while frame is None or frame["type"] != "stats.updated" \
                            or frame["stats"]["calls"]["total"] < 1:
                        frame = json.loads(await ws.recv())
    assert frame["incident"] is None and frame["assignment"] is None
    assert frame["stats"]["calls"]["total"] == 1
    assert set(frame["stats"]) >= {"shift", "calls", "incidents", "agencies", "times",
                                   "operators"}

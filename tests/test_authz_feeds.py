"""The WebSocket half of the authorization matrix: every feed × every kind of caller."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import websockets

from api.app import create_app
from dispatch.accounts.tokens import issue_token
from dispatch.models import User
from tests.support import login, make_settings, serving

OPEN = 0  # the connection stays open: the caller may read that feed
CALLERS = ("none", "garbage", "expired", "gateway", "operator", "supervisor", "admin",
           "agency_a", "agency_b")
USERNAMES = {"gateway": "aml-gateway", "operator": "operator", "supervisor": "supervisor",
             "admin": "admin", "agency_a": "polsek-prajuritkulon", "agency_b": "damkar-mjk"}
FEEDS = {
    "/v1/agencies/POLSEK-PRAJURITKULON/feed": {"supervisor": OPEN, "agency_a": OPEN},
    "/v1/agencies/DAMKAR-MJK/feed": {"supervisor": OPEN, "agency_b": OPEN},
    "/v1/feed": {"supervisor": OPEN},
    "/v1/agencies/NO-SUCH-AGENCY/feed": {"supervisor": 4404},
}


def expected(path: str, caller: str) -> int:
    if caller in ("none", "garbage", "expired"):
        return 4401
    return FEEDS[path].get(caller, 4403)


CASES = [(path, caller) for path in FEEDS for caller in CALLERS]


@pytest.fixture(scope="module")
async def feed_server(database_url: str) -> AsyncIterator[tuple[str, dict[str, str]]]:
    settings = make_settings(database_url)
    async for address in serving(create_app(settings)):
        tokens = {"none": "", "garbage": "not-a-token"}
        async with httpx.AsyncClient(base_url=f"http://{address}") as api:
            for caller, username in USERNAMES.items():
                tokens[caller] = (await login(api, username))["Authorization"].split()[1]
        user = User(id=__import__("uuid").uuid4(), username="supervisor", role="supervisor",
                    agency_code=None)
        tokens["expired"] = issue_token(user, secret_key=settings.secret_key, ttl_s=60,
                                        now=datetime.now(UTC) - timedelta(hours=2))
        yield address, tokens


async def _outcome(url: str) -> int:
    async with websockets.connect(url) as ws:
        try:
            await asyncio.wait_for(ws.recv(), 0.7)
        except TimeoutError:
            return OPEN
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code
    return OPEN  # a frame arrived: the feed is open


@pytest.mark.parametrize(("path", "caller"), CASES,
                         ids=[f"{p} as {c} -> {expected(p, c)}" for p, c in CASES])
async def test_feed_access(feed_server, path: str, caller: str) -> None:
    address, tokens = feed_server
    query = f"?token={tokens[caller]}" if tokens[caller] else ""
    assert await _outcome(f"ws://{address}{path}{query}") == expected(path, caller)

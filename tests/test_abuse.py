"""Abuse resistance: login lockout, token expiry, rate limits, masked numbers, 503s."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from api.app import create_app
from dispatch.accounts.tokens import issue_token
from dispatch.accounts.users import create_user
from dispatch.core.db import make_engine, make_sessionmaker, transaction
from dispatch.models import User
from tests.support import login, make_settings, started_client


async def test_five_failed_logins_lock_the_account(client: httpx.AsyncClient, sessions) -> None:
    async with transaction(sessions) as session:
        await create_user(session, "lockme", role="operator", password="right-password-1")
    for _ in range(5):
        response = await client.post("/auth/token",
                                     data={"username": "lockme", "password": "wrong"})
        assert response.status_code == 401
    locked = await client.post("/auth/token",
                               data={"username": "lockme", "password": "right-password-1"})
    assert locked.status_code == 401
    assert "locked" in locked.json()["detail"]


async def test_expired_and_forged_tokens_are_401(client: httpx.AsyncClient, settings) -> None:
    user = User(id=__import__("uuid").uuid4(), username="operator", role="operator",
                agency_code=None)
    expired = issue_token(user, secret_key=settings.secret_key, ttl_s=60,
                          now=datetime.now(UTC) - timedelta(hours=1))
    forged = issue_token(user, secret_key="another-secret-" + "y" * 32, ttl_s=60)
    for token, word in ((expired, "expired"), (forged, "not valid")):
        response = await client.get("/v1/categories",
                                    headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert word in response.json()["detail"]
        assert response.headers["www-authenticate"] == "Bearer"


async def test_rate_limit_answers_429_with_retry_after(database_url: str) -> None:
    app = create_app(make_settings(database_url, rate_limit_per_s=1, rate_limit_burst=3))
    async for client in started_client(app):
        headers = await login(client, "supervisor")
        statuses = [(await client.get("/v1/categories", headers=headers)).status_code
                    for _ in range(5)]
        limited = await client.get("/v1/categories", headers=headers)
    assert statuses[:3] == [200, 200, 200] and 429 in statuses[3:]
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1


async def test_database_outage_is_503_problem(database_url: str) -> None:
    """Requests while the database is unreachable get 503 problem+json, not a 500."""
    settings = make_settings(database_url)
    app = create_app(settings)
    async for client in started_client(app):
        headers = await login(client, "operator")
        # Point the running app at a port where nothing listens, as in an outage.
        await app.state.engine.dispose()
        dead = make_settings("postgresql+asyncpg://postgres@127.0.0.1:1/none",
                             db_connect_timeout_s=1.0)
        app.state.engine = make_engine(dead)
        app.state.sessions = make_sessionmaker(app.state.engine)
        response = await client.post("/v1/calls", headers=headers, json={
            "caller_number": "+6281299911111", "category": "fire"})
        ready = await client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "2"
    assert ready.status_code == 503

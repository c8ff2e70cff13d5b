"""/healthz, /readyz, /metrics, problem+json and the body size cap."""

from __future__ import annotations

import httpx

from api.app import create_app
from dispatch.core import schema
from dispatch.tools import migrate
from tests.support import make_settings, started_client


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_at_head(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready", "database": "ok", "migration": schema.head_revision()
    }


async def test_readyz_fails_when_schema_is_behind(make_database) -> None:
    url = await make_database()  # extensions only, no migration applied
    async for client in started_client(create_app(make_settings(url))):
        behind = await client.get("/readyz")
        await migrate.upgrade_async(url)
        ready = await client.get("/readyz")
    assert behind.status_code == 503
    assert behind.headers["content-type"] == "application/problem+json"
    body = behind.json()
    assert body["migration"] is None and body["expected_migration"] == schema.head_revision()
    assert "dispatch db upgrade" in body["detail"]
    assert ready.status_code == 200


async def test_readyz_fails_when_database_unreachable() -> None:
    settings = make_settings(
        "postgresql+asyncpg://postgres@127.0.0.1:1/none", db_connect_timeout_s=1.0
    )
    async for client in started_client(create_app(settings)):
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


async def test_metrics_counts_requests(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    text = (await client.get("/metrics")).text
    line = next(
        ln for ln in text.splitlines()
        if ln.startswith("siaga112_http_requests_total{")
        and 'route="/healthz"' in ln and 'status="200"' in ln
    )
    assert float(line.rsplit(" ", 1)[1]) >= 1


async def test_unknown_path_is_problem_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


async def test_body_over_64_kib_is_413(client: httpx.AsyncClient) -> None:
    response = await client.post("/healthz", content=b"x" * (64 * 1024 + 1))
    assert response.status_code == 413
    assert response.json()["title"] == "Request body too large"
    small = await client.post("/healthz", content=b"x" * 10)
    assert small.status_code == 405

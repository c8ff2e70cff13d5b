"""Test fixtures: every test run gets its own freshly created and migrated PostGIS database,
dropped at the end. The server comes from SIAGA112_TEST_ADMIN_URL (written by scripts/test
into .siaga112/env) or DATABASE_URL; that role must be allowed to create databases and the
postgis extension."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.app import create_app
from dispatch.core.databases import create_database, drop_database, plain_url, sqlalchemy_url
from dispatch.core.db import make_engine, make_sessionmaker
from dispatch.core.settings import Settings
from dispatch.tools import migrate
from tests.support import (
    load_demo_into,
    login,
    make_settings,
    started_client,
)


def _server_url() -> str:
    url = os.environ.get("SIAGA112_TEST_ADMIN_URL") or os.environ.get("DATABASE_URL")
    if not url:
        pytest.exit(
            "no database server for the tests: run them with scripts/test, or set "
            "DATABASE_URL to a role that may create databases",
            returncode=2,
        )
    return plain_url(url)


DatabaseFactory = Callable[..., Awaitable[str]]


@pytest.fixture(scope="session")
async def make_database() -> AsyncIterator[DatabaseFactory]:
    """Creates empty databases with the extensions; all are dropped at the end of the run."""
    server = _server_url()
    created: list[str] = []

    async def create(*, migrated: bool = False) -> str:
        name = f"siaga112_test_{secrets.token_hex(4)}"
        created.append(name)
        url = await create_database(server, name)
        if migrated:
            await migrate.upgrade_async(sqlalchemy_url(url))
        return sqlalchemy_url(url)

    yield create
    for name in created:
        await drop_database(server, name)


@pytest.fixture(scope="session")
async def database_url(make_database: DatabaseFactory) -> str:
    """The run's main database: migrated to head, demo region loaded."""
    url = await make_database(migrated=True)
    await load_demo_into(url)
    return url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(settings)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose work is rolled back at the end of the test."""
    async with sessions() as session, session.begin():
        yield session
        await session.rollback()


@pytest.fixture(scope="session")
async def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture(scope="session")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async for client in started_client(app):
        yield client


@pytest.fixture(scope="session")
async def operator(client: httpx.AsyncClient) -> dict:
    """Authorization header of the demo operator."""
    return await login(client, "operator")


@pytest.fixture(scope="session")
async def supervisor(client: httpx.AsyncClient) -> dict:
    """Authorization header of the demo supervisor."""
    return await login(client, "supervisor")

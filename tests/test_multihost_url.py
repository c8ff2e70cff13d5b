"""A primary and its standby in one DATABASE_URL (issue 24): every consumer of the URL
keeps both hosts and target_session_attrs, in the form it parses; and "no primary" is a
503 with Retry-After, never a 500."""

from __future__ import annotations

import socket
import time

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import make_url

from api.app import create_app
from dispatch.core.databases import (
    connect_any,
    host_dsns,
    plain_url,
    sqlalchemy_url,
    with_database,
)
from dispatch.core.db import DATABASE_LOST, make_engine, make_sessionmaker
from dispatch.core.settings import SettingsError, load_settings
from tests.support import free_port, make_settings, started_client

LIBPQ = ("postgresql://u:p%40ss@db1.example:5433,10.0.0.2:5432/siaga112"
         "?target_session_attrs=read-write&sslmode=require")
ALCHEMY = ("postgresql+asyncpg://u:p%40ss@/siaga112?host=db1.example:5433&host=10.0.0.2:5432"
           "&target_session_attrs=read-write&sslmode=require")


def test_multi_host_converts_both_ways_keeping_every_parameter() -> None:
    assert sqlalchemy_url(LIBPQ) == ALCHEMY
    assert plain_url(ALCHEMY) == LIBPQ
    assert sqlalchemy_url(ALCHEMY) == ALCHEMY  # idempotent
    assert plain_url(LIBPQ) == LIBPQ
    assert plain_url(sqlalchemy_url("postgres://u@a:1,b:2/d")) == "postgresql://u@a:1,b:2/d"


def test_single_host_urls_only_change_scheme() -> None:
    for rest in ("u@127.0.0.1:5432/d", "u:pw@h/d?sslmode=disable", "u@/d?host=/run/postgresql",
                 "h"):
        assert sqlalchemy_url(f"postgresql://{rest}") == f"postgresql+asyncpg://{rest}"
        assert plain_url(f"postgresql+asyncpg://{rest}") == f"postgresql://{rest}"


def test_a_host_without_port_gets_5432_and_ipv6_is_refused() -> None:
    assert sqlalchemy_url("postgresql://u@a,b:6000/d") == (
        "postgresql+asyncpg://u@/d?host=a:5432&host=b:6000")
    with pytest.raises(ValueError, match="IPv6"):
        sqlalchemy_url("postgresql://u@[::1]:5432,b:5432/d")
    with pytest.raises(ValueError, match="empty host"):
        sqlalchemy_url("postgresql://u@a:1,,b:2/d")


def test_with_database_keeps_the_hosts() -> None:
    assert with_database(LIBPQ, "other") == LIBPQ.replace("/siaga112?", "/other?")
    assert with_database(ALCHEMY, "other") == ALCHEMY.replace("/siaga112?", "/other?")


def test_settings_take_the_libpq_form_and_give_each_consumer_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", LIBPQ)
    monkeypatch.setenv("DISPATCH_SECRET_KEY", "s" * 40)
    settings = load_settings()
    assert settings.database_url == ALCHEMY  # the engine and Alembic
    assert settings.sync_database_url == LIBPQ  # feed hub, notifier, sealer, numbering
    # What SQLAlchemy hands to asyncpg.connect: both hosts, both ports, the attribute.
    _, kwargs = asyncpg_dialect().create_connect_args(make_url(settings.database_url))
    assert kwargs["host"] == ["db1.example", "10.0.0.2"]
    assert kwargs["port"] == [5433, 5432]
    assert kwargs["target_session_attrs"] == "read-write"
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@[::1]:5432,b/d")
    with pytest.raises(SettingsError, match=r"^DATABASE_URL must name its hosts"):
        load_settings()


def _behind(database_url: str, port: int, attrs: str = "read-write") -> str:
    """The test database's URL with the host 127.0.0.1:`port` listed before its own."""
    head, _, tail = plain_url(database_url).partition("@")
    hostport, _, path = tail.partition("/")
    return f"{head}@127.0.0.1:{port},{hostport}/{path}?target_session_attrs={attrs}"


async def test_engine_and_raw_asyncpg_find_the_primary_after_a_dead_host(
    database_url: str,
) -> None:
    settings = make_settings(_behind(database_url, free_port()))  # refuses
    engine = make_engine(settings)
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT pg_is_in_recovery()")) is False
    finally:
        await engine.dispose()
    conn = await asyncpg.connect(settings.sync_database_url, timeout=5)
    try:
        assert await conn.fetchval("SELECT pg_is_in_recovery()") is False
    finally:
        await conn.close()


async def test_no_primary_among_the_hosts_is_503_with_retry_after(database_url: str) -> None:
    """Every host answers, none is what the URL asks for (as during a failover when the old
    primary came back as a standby): asyncpg raises TargetServerAttributeNotMatched, which
    the background loops treat as a lost database and the API as a 503."""
    assert asyncpg.TargetServerAttributeNotMatched in DATABASE_LOST
    # The test server is a primary: asking for a standby finds none.
    no_primary = make_settings(f"{plain_url(database_url)}?target_session_attrs=standby")
    with pytest.raises(asyncpg.TargetServerAttributeNotMatched):
        await asyncpg.connect(no_primary.sync_database_url, timeout=5)
    app = create_app(make_settings(database_url))
    async for client in started_client(app):
        # The app started on the primary; its requests now meet a URL without one.
        engine = make_engine(no_primary)
        app.state.engine, app.state.sessions = engine, make_sessionmaker(engine)
        try:
            for method, path in (("POST", "/auth/token"), ("GET", "/readyz")):
                response = await client.request(method, path, data={
                    "username": "operator", "password": "operator-demo-112"})
                assert response.status_code == 503, response.text
                assert response.headers["content-type"] == "application/problem+json"
                if path != "/readyz":
                    assert response.headers["retry-after"]
        finally:
            await engine.dispose()


def test_host_dsns_gives_one_url_per_host_in_order() -> None:
    assert host_dsns(ALCHEMY) == [
        "postgresql://u:p%40ss@db1.example:5433/siaga112?target_session_attrs=read-write"
        "&sslmode=require",
        "postgresql://u:p%40ss@10.0.0.2:5432/siaga112?target_session_attrs=read-write"
        "&sslmode=require"]
    assert host_dsns("postgresql+asyncpg://u@h:1/d") == ["postgresql://u@h:1/d"]


async def test_a_silent_first_host_does_not_hide_the_primary(database_url: str) -> None:
    """A host that accepts TCP and never answers (a frozen or powered-off primary) listed
    first: asyncpg alone spends its one time-out on it and never tries the next host; the
    engine and connect_any give each host its own."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = _behind(database_url, silent.getsockname()[1])
        settings = make_settings(url, db_connect_timeout_s=0.5)
        with pytest.raises(TimeoutError):
            await asyncpg.connect(settings.sync_database_url, timeout=0.5)
        started = time.monotonic()
        conn = await connect_any(settings.sync_database_url, timeout=0.5)
        await conn.close()
        engine = make_engine(settings)
        try:
            async with engine.connect() as connection:
                assert await connection.scalar(text("SHOW application_name")) == "siaga112"
        finally:
            await engine.dispose()
        assert time.monotonic() - started < 3

"""Creating and dropping whole databases on a server: for test runs, benchmarks and the
set-up of a new installation. URLs are plain `postgresql://` (asyncpg) URLs."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import asyncpg

EXTENSIONS = ("postgis", "pg_trgm", "btree_gist")


def with_database(url: str, name: str) -> str:
    """The same server and credentials, another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def plain_url(url: str) -> str:
    """`postgresql+asyncpg://…` → `postgresql://…` (what asyncpg and psql take)."""
    return "postgresql://" + url.split("://", 1)[1]


def sqlalchemy_url(url: str) -> str:
    """`postgresql://…` → `postgresql+asyncpg://…` (what the service's settings take)."""
    return "postgresql+asyncpg://" + url.split("://", 1)[1]


async def create_database(server_url: str, name: str, *, replace: bool = False) -> str:
    """Create `name` with the extensions the schema needs; returns its plain URL."""
    admin = await asyncpg.connect(plain_url(server_url))
    try:
        if replace:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = with_database(plain_url(server_url), name)
    conn = await asyncpg.connect(url)
    try:
        for extension in EXTENSIONS:
            await conn.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
    finally:
        await conn.close()
    return url


async def drop_database(server_url: str, name: str) -> None:
    admin = await asyncpg.connect(plain_url(server_url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()

"""Alembic environment (async, asyncpg). The URL comes from the Config attribute
`database_url` set by `dispatch db …`, else from DATABASE_URL."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import migrations.all_models  # noqa: F401  (fills Base.metadata)
from dispatch.core.db import Base
from dispatch.core.schema import include_object

config = context.config
target_metadata = Base.metadata

def _database_url() -> str:
    url = config.attributes.get("database_url") or os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        url = "postgresql+asyncpg://" + url.split("://", 1)[1]
    return url


def _configure(connection: Connection | None = None, **kwargs: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
        compare_type=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    _configure(url=_database_url(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _run_sync(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    engine = create_async_engine(_database_url(), poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_run_sync)
            await conn.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
elif config.attributes.get("connection") is not None:
    # Called from inside an event loop (dispatch.tools.migrate.upgrade_async) with a connection.
    _run_sync(config.attributes["connection"])
else:
    asyncio.run(run_migrations_online())

"""Running the Alembic migrations from the CLI and the tests (sync and async entry points)."""

from __future__ import annotations

from collections.abc import Callable

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from dispatch.core.schema import alembic_config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    """The same as upgrade(), for callers already inside an event loop."""
    await _run_with_connection(database_url, command.upgrade, revision)


async def downgrade_async(database_url: str, revision: str) -> None:
    await _run_with_connection(database_url, command.downgrade, revision)


async def _run_with_connection(
    database_url: str, alembic_command: Callable[[Config, str], None], revision: str,
) -> None:
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:

            def run(sync_connection: Connection) -> None:
                config = alembic_config(database_url)
                config.attributes["connection"] = sync_connection
                alembic_command(config, revision)

            await connection.run_sync(run)
    finally:
        await engine.dispose()



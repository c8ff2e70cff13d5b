"""Alembic driven from code, so `dispatch db upgrade` works from any directory."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from geoalchemy2 import alembic_helpers
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

import migrations

MIGRATIONS_DIR = Path(migrations.__file__).parent
POSTGIS_TABLES = {"spatial_ref_sys", "layer", "topology", "index_versions"}


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    """Autogenerate skips PostGIS's own tables and the trigger-managed index_versions."""
    if type_ == "table" and name in POSTGIS_TABLES:
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    """The same as upgrade(), for callers already inside an event loop."""
    await _run_with_connection(database_url, command.upgrade, revision)


async def downgrade_async(database_url: str, revision: str) -> None:
    await _run_with_connection(database_url, command.downgrade, revision)


async def _run_with_connection(database_url: str, alembic_command, revision: str) -> None:  # type: ignore[no-untyped-def]
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:

            def run(sync_connection):  # type: ignore[no-untyped-def]
                config = alembic_config(database_url)
                config.attributes["connection"] = sync_connection
                alembic_command(config, revision)

            await connection.run_sync(run)
    finally:
        await engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


async def current_revision(connection: AsyncConnection) -> str | None:
    def _read(sync_conn):  # type: ignore[no-untyped-def]
        return MigrationContext.configure(sync_conn).get_current_revision()

    return await connection.run_sync(_read)

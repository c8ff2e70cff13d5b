"""Where the database schema stands against the migrations this code ships (Alembic): the
head revision, the database's revision, and what autogenerate compares."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from alembic.config import Config
from alembic.runtime.environment import IncludeObjectFn, NameFilterType
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from geoalchemy2 import alembic_helpers
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import SchemaItem

import migrations

MIGRATIONS_DIR = Path(migrations.__file__).parent


POSTGIS_TABLES = {"spatial_ref_sys", "layer", "topology", "index_versions"}


# geoalchemy2 implements Alembic's include_object hook without annotations; give it the
# hook's signature.
_spatial_include_object = cast(IncludeObjectFn, alembic_helpers.include_object)


def include_object(
    obj: SchemaItem,
    name: str | None,
    type_: NameFilterType,
    reflected: bool,
    compare_to: SchemaItem | None,
) -> bool:
    """Autogenerate skips PostGIS's own tables and the trigger-managed index_versions."""
    if type_ == "table" and name in POSTGIS_TABLES:
        return False
    return _spatial_include_object(obj, name, type_, reflected, compare_to)


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = database_url
    return config


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


async def current_revision(connection: AsyncConnection) -> str | None:
    def _read(sync_conn: Connection) -> str | None:
        return MigrationContext.configure(sync_conn).get_current_revision()

    return await connection.run_sync(_read)



"""The scratch database: created with migrations and the demo region, dropped at the end;
plus the queries the phases need on it (how many of some ids are present, the server's
version and settings).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any


async def create_database(admin_url: str) -> tuple[str, str]:
    from dispatch.core import databases
    from dispatch.tools import migrate
    from dispatch.tools.demo import load_demo_into

    name = f"siaga112_bench_{secrets.token_hex(4)}"
    url = await databases.create_database(admin_url, name)
    await migrate.upgrade_async(databases.sqlalchemy_url(url))
    await load_demo_into(databases.sqlalchemy_url(url))
    return name, url


async def drop_database(admin_url: str, name: str) -> None:
    from dispatch.core import databases

    await databases.drop_database(admin_url, name)


async def count_present(url: str, table: str, ids: Sequence[str]) -> int:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(
            f"SELECT count(*) FROM {table} WHERE id = ANY($1::uuid[])", list(ids)))
    finally:
        await conn.close()


async def server_facts(url: str) -> dict[str, Any]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return {name: await conn.fetchval(f"SHOW {name}") for name in
                ("server_version", "synchronous_commit", "fsync", "max_connections",
                 "shared_buffers")}
    finally:
        await conn.close()

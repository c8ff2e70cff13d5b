"""Plans of the intake's possible-duplicates read over a surge of open incidents (shared by
tests/test_call_reads.py and tests/test_duplicates_any_category.py)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import TextClause

# The SQL type of each bound parameter of the intake's reads; any other is a timestamptz.
_PARAMETER_TYPES = {"numbered": "bool", "caller": "text", "pranks": "text[]", "lon": "float8",
                    "lat": "float8", "category": "text", "radius": "float8"}


async def add_open_incidents(session: AsyncSession, prefix: str, categories: list[str],
                             count: int) -> None:
    """`count` open incidents numbered `<prefix>1`…, their categories taken in turn from
    `categories`, on a grid over ~22 × 22 km of Mojokerto, all created within the hour;
    then ANALYZE incidents."""
    await session.execute(text("""
        INSERT INTO incidents (id, number, category, priority, status, location,
                               created_at, updated_at)
        SELECT gen_random_uuid(), :prefix || g,
               (CAST(:categories AS text[]))[1 + g % cardinality(CAST(:categories AS text[]))],
               2, 'open',
               ST_SetSRID(ST_MakePoint(112.33 + (g % 97) * 0.002,
                                       -7.57 + (g / 97) * 0.005), 4326),
               now() - (g % 50) * interval '1 minute', now()
        FROM generate_series(1, :n) g"""),
        {"prefix": prefix, "categories": categories, "n": count})
    await session.execute(text("ANALYZE incidents"))


async def generic_plan(session: AsyncSession, statement: TextClause,
                       values: dict[str, str]) -> list[str]:
    """EXPLAIN of `statement` as the service runs it: compiled with $1… as the service
    sends it, prepared, and planned once for every point, radius (and category) — a
    generic plan. `values` are SQL literals for the parameters; a parameter not in it
    (the time bounds) gets `now() - interval '1 hour'`."""
    compiled = statement.compile(dialect=asyncpg_dialect())
    names = compiled.positiontup or []
    types = ", ".join(_PARAMETER_TYPES.get(n, "timestamptz") for n in names)
    connection = await session.connection()
    await connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    await connection.exec_driver_sql(f"PREPARE intake_read({types}) AS " + str(compiled))
    args = ", ".join(values.get(n, "now() - interval '1 hour'") for n in names)
    result = await connection.exec_driver_sql(f"EXPLAIN EXECUTE intake_read({args})")
    plan = [row[0] for row in result]
    await connection.exec_driver_sql("DEALLOCATE intake_read")
    return plan


def assert_walks_the_nearby_index(plan: Any, generic: list[str]) -> None:
    """`plan` (EXPLAIN (FORMAT JSON) of the lookup with its values) walks
    ix_incidents_open_nearby nearest first, not measuring every row; and in `generic` (the
    prepared read's generic plan) both scans of incidents go through that index with the
    place in the index condition."""
    assert "ix_incidents_open_nearby" in json.dumps(plan)
    assert '"Order By"' in json.dumps(plan)  # walked nearest first, not all measured
    scans = [line for line in generic if "Scan" in line and "incidents" in line]
    assert len(scans) == 2 and all("ix_incidents_open_nearby" in s for s in scans), generic
    assert sum("&& _st_expand" in line for line in generic) == 2, generic

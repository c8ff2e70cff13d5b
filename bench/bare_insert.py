"""The limit beside intake: durable single-row INSERT … RETURNING with asyncpg.

    python -m bench.bare_insert --dsn postgresql://… [--connections 40] [--duration 10]

A table as wide as `calls` (uuid, timestamptz, text columns, geometry(Point,4326), jsonb,
the same two secondary indexes), one connection per worker, each inserting one row per
transaction (autocommit, synchronous_commit as the server has it: durable) as fast as it
can, for `duration` seconds. Prints one JSON document: inserts/s and latency percentiles.
The same table and statement serve bench/bare_api.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from dispatch.core.databases import plain_url
from dispatch.tools.simulate.report import percentile
from dispatch.tools.simulate.traffic import PlannedCall, draw_calls

TABLE_SQL = """
CREATE TABLE IF NOT EXISTS bench_calls (
    id uuid PRIMARY KEY,
    received_at timestamptz NOT NULL,
    caller_number varchar(20) NOT NULL,
    channel varchar(5) NOT NULL DEFAULT 'voice',
    location geometry(Point, 4326),
    location_source varchar(10),
    accuracy_m double precision,
    area_code varchar(20),
    area jsonb,
    in_service_area boolean NOT NULL DEFAULT false,
    address text,
    cell jsonb,
    category varchar(40),
    description text,
    location_warnings jsonb NOT NULL DEFAULT '[]',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ix_bench_calls_received_at ON bench_calls (received_at);
CREATE INDEX IF NOT EXISTS ix_bench_calls_caller ON bench_calls (caller_number, received_at);
"""

INSERT_SQL = """
INSERT INTO bench_calls (id, received_at, caller_number, channel, location, location_source,
                         accuracy_m, area, in_service_area, address, category, description)
VALUES ($1, $2, $3, $4,
        CASE WHEN $5::float8 IS NULL THEN NULL
             ELSE ST_SetSRID(ST_MakePoint($5::float8, $6::float8), 4326) END,
        $7, $8, $9::jsonb, $10, $11, $12, $13)
RETURNING id, created_at
"""


def insert_args(payload: dict[str, Any]) -> tuple[Any, ...]:
    """The INSERT's parameters for one POST /v1/calls body."""
    location = payload.get("location")
    area = {"kelurahan": {"code": "35.76.02.1001", "name": "Gedongan"}} if location else None
    return (
        uuid.uuid4(), datetime.now(UTC), payload["caller_number"][:20],
        payload.get("channel", "voice"),
        location["lon"] if location else None, location["lat"] if location else None,
        "manual" if location else None, location.get("accuracy_m") if location else None,
        orjson.dumps(area).decode() if area else None, location is not None,
        payload.get("address"), payload.get("category"), payload.get("description"),
    )


async def ensure_table(conn: asyncpg.Connection) -> None:
    """Create the table once: the bare API's workers start together, and two concurrent
    `CREATE TABLE IF NOT EXISTS` can both pass the check (DuplicateTableError)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('bench_calls'))")
        await conn.execute(TABLE_SQL)


async def run(dsn: str, connections: int, duration_s: float, plans: Sequence[PlannedCall]
              ) -> dict[str, Any]:
    conns = [await asyncpg.connect(dsn) for _ in range(connections)]
    try:
        await ensure_table(conns[0])
        latencies: list[float] = []
        errors = 0
        stop = time.perf_counter() + duration_s

        async def worker(conn: asyncpg.Connection, offset: int) -> None:
            nonlocal errors
            i = offset
            while time.perf_counter() < stop:
                args = insert_args(plans[i % len(plans)].payload)
                i += connections
                started = time.perf_counter()
                try:
                    await conn.fetchrow(INSERT_SQL, *args)
                except asyncpg.PostgresError:
                    errors += 1
                    continue
                latencies.append((time.perf_counter() - started) * 1000)

        began = time.perf_counter()
        await asyncio.gather(*(worker(c, n) for n, c in enumerate(conns)))
        elapsed = time.perf_counter() - began
        commit = await conns[0].fetchval("SHOW synchronous_commit")
    finally:
        for conn in conns:
            await conn.close()
    return {
        "connections": connections, "duration_s": round(elapsed, 3),
        "synchronous_commit": commit, "inserts": len(latencies), "errors": errors,
        "inserts_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50) or 0, 3),
        "p99_ms": round(percentile(latencies, 99) or 0, 3),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", required=True, help="postgresql:// URL of a PostGIS database")
    parser.add_argument("--connections", type=int, default=40)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if not 1 <= args.connections <= 200 or not 0 < args.duration <= 3600:
        parser.error("connections 1..200, duration 0..3600 s")
    dsn = plain_url(args.dsn)
    plans = draw_calls(2000, seed=args.seed, prank_share=0.0)
    try:
        import uvloop

        result = uvloop.run(run(dsn, args.connections, args.duration, plans))
    except ImportError:
        result = asyncio.run(run(dsn, args.connections, args.duration, plans))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

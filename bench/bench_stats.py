"""Shift statistics on a year of data: how long `dispatch.stats.shift_figures` takes.

    python -m bench.bench_stats [--calls N] [--incidents N] [--surge-incidents N] [--runs R]
                                [--database-url URL]

Creates a scratch database (siaga112_bench_stats) on the server at --database-url, migrates
it, loads the demo region, then bulk-loads with generate_series (in SQL, no rows through
Python) one year (2025, WIB) of incidents (default 350,000, one call each, 1 or 2
assignments each) and further unlinked calls (prank, ghost, info, ...) up to --calls
(default 1,100,000), spread evenly over the year, by 20 operators. After VACUUM ANALYZE it
times `shift_figures` for one shift (pagi of 2025-07-15; median of --runs runs after one
warm-up, each in its own transaction as the API does), for the first run on seven other
shifts, and for all three shifts of a date; then EXPLAIN ANALYZE of each statement; then
the same shift without the index migration 0003 adds. A surge shift (siang of 2025-08-17,
--surge-incidents more incidents, default 35,000, as many as the harness's surge opens) is
timed too, with EXPLAIN ANALYZE of every statement. For both shifts `statements` gives each
statement's own time (median of --runs transactions that run every statement once, rows
fetched, as `shift_figures` does). Prints one JSON document on stdout
(progress on stderr) and drops the database in any case.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.core.databases import create_database, drop_database, sqlalchemy_url
from dispatch.core.db import make_engine, make_sessionmaker, transaction
from dispatch.core.settings import Settings
from dispatch.stats import figures as stats
from dispatch.tools import migrate
from dispatch.tools.demo import load_demo_into

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SCRATCH_DB = "siaga112_bench_stats"
YEAR_START = datetime(2025, 1, 1, tzinfo=ZoneInfo("Asia/Jakarta"))
TARGET_DAY = date(2025, 7, 15)
TARGET_SHIFT = "pagi"
TARGET_MS = 200.0
SURGE_DAY = date(2025, 8, 17)  # a shift with --surge-incidents more (an earthquake)
SURGE_SHIFT = "siang"
OPERATORS = 20

OPERATORS_SQL = """
INSERT INTO users (id, username, password_hash, role, active, failed_logins)
SELECT gen_random_uuid(), 'bench-operator-' || lpad(g::text, 2, '0'), 'not-a-hash',
       'operator', true, 0
FROM generate_series(1, $1::int) g
"""

INCIDENTS_SQL = """
INSERT INTO incidents (id, number, category, priority, status, created_by, created_at,
                       updated_at, closed_at)
SELECT gen_random_uuid(), $6::text || g, x.category, x.priority, 'closed', x.operator, x.t,
       x.t, x.t + interval '1 hour'
FROM generate_series(1, $1::int) g
CROSS JOIN LATERAL (
    SELECT ($3::text[])[1 + floor(random() * cardinality($3::text[]))::int + 0 * g] AS category,
           1 + floor(random() * 4)::int + 0 * g AS priority,
           ($4::uuid[])[1 + floor(random() * cardinality($4::uuid[]))::int + 0 * g] AS operator,
           $2::timestamptz + (g - 1)::float8 / $1 * $5::interval
               + random() * interval '60 seconds' AS t
) x
"""

LINKED_CALLS_SQL = """
INSERT INTO calls (id, received_at, caller_number, channel, operator_id, in_service_area,
                   location_warnings, incident_id, created_at, updated_at)
SELECT gen_random_uuid(), t, '+62812' || lpad(floor(random() * 1e8)::bigint::text, 8, '0'),
       'voice', i.created_by, true, '[]'::jsonb, i.id, t, t
FROM incidents i
CROSS JOIN LATERAL (
    SELECT i.created_at - (5 + random() * 55) * interval '1 second' AS t
) x
"""

OTHER_CALLS_SQL = """
INSERT INTO calls (id, received_at, caller_number, channel, operator_id, in_service_area,
                   location_warnings, disposition, created_at, updated_at)
SELECT gen_random_uuid(), x.t, '+62813' || lpad(floor(random() * 1e8)::bigint::text, 8, '0'),
       'voice', x.operator, false, '[]'::jsonb, x.disposition, x.t, x.t
FROM generate_series(1, $1::int) g
CROSS JOIN LATERAL (
    SELECT $2::timestamptz + (g - 1)::float8 / $1 * interval '365 days'
               + random() * interval '60 seconds' AS t,
           ($3::uuid[])[1 + floor(random() * cardinality($3::uuid[]))::int + 0 * g] AS operator,
           (ARRAY['prank', 'prank', 'prank', 'ghost', 'ghost', 'info', 'info', 'duplicate',
                  'transferred', 'abandoned'])[1 + floor(random() * 10)::int + 0 * g]
               AS disposition
) x
"""

ASSIGNMENTS_SQL = """
INSERT INTO assignments (id, incident_id, agency_id, kind, status, reason, priority,
                         created_at, updated_at, ack_due_at, acknowledged_at, escalated_at)
SELECT gen_random_uuid(), y.incident_id, ($1::uuid[])[y.j], ($2::text[])[y.j], y.status,
       'coverage', y.priority, y.created_at, y.created_at, y.created_at + interval '60 s',
       CASE WHEN y.status IN ('completed', 'declined') AND y.r < 0.97
            THEN y.created_at + y.ack_s * interval '1 second' END,
       CASE WHEN y.status = 'escalated' THEN y.created_at + interval '60 seconds' END
FROM (
    SELECT x.*,
           CASE WHEN x.r < 0.88 THEN 'completed' WHEN x.r < 0.93 THEN 'declined'
                WHEN x.r < 0.96 THEN 'cancelled' WHEN x.r < 0.98 THEN 'queued'
                ELSE 'escalated' END AS status
    FROM (
        SELECT i.id AS incident_id, i.priority,
               1 + floor(random() * cardinality($1::uuid[]))::int AS j,
               i.created_at + (5 + random() * 90 + (k - 1) * 40) * interval '1 second'
                   AS created_at,
               5 + 600 * random() * random() AS ack_s,
               random() AS r
        FROM incidents i
        CROSS JOIN LATERAL generate_series(1, 1 + (random() < 0.5)::int + 0 * i.priority) k
    ) x
) y
"""


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


async def create_scratch(admin_url: str) -> str:
    return await create_database(admin_url, SCRATCH_DB, replace=True)


async def drop_scratch(admin_url: str) -> None:
    await drop_database(admin_url, SCRATCH_DB)


async def timed(label: str, work: Awaitable[Any]) -> float:
    started = time.perf_counter()
    await work
    seconds = time.perf_counter() - started
    log(f"{label}: {seconds:.1f} s")
    return round(seconds, 2)


async def bulk_load(
    url: str, calls: int, incidents: int, surge: tuple[int, datetime, timedelta] | None
) -> dict[str, Any]:
    """The year; with `surge` (incidents, start, span) also that many incidents more in
    that window, each with its call and assignments like the others."""
    conn = await asyncpg.connect(url)
    load: dict[str, Any] = {}
    try:
        await conn.execute("SELECT setseed(0.112)")
        await conn.execute(OPERATORS_SQL, OPERATORS)
        operators = [r["id"] for r in await conn.fetch(
            "SELECT id FROM users WHERE role = 'operator' ORDER BY username")]
        categories = [r["code"] for r in await conn.fetch(
            "SELECT code FROM categories ORDER BY code")]
        agencies = await conn.fetch("SELECT id, kind FROM agencies ORDER BY code")
        load["incidents_s"] = await timed("incidents", conn.execute(
            INCIDENTS_SQL, incidents, YEAR_START, categories, operators, timedelta(days=365),
            "BENCH-"))
        if surge:
            count, start, span = surge
            load["surge_incidents_s"] = await timed("surge incidents", conn.execute(
                INCIDENTS_SQL, count, start, categories, operators, span, "SURGE-"))
        load["linked_calls_s"] = await timed("calls linked to incidents",
                                             conn.execute(LINKED_CALLS_SQL))
        load["other_calls_s"] = await timed("other calls", conn.execute(
            OTHER_CALLS_SQL, max(calls - incidents, 0), YEAR_START, operators))
        load["assignments_s"] = await timed("assignments", conn.execute(
            ASSIGNMENTS_SQL, [a["id"] for a in agencies], [a["kind"] for a in agencies]))
        load["vacuum_analyze_s"] = await timed(
            "vacuum analyze",
            conn.execute("VACUUM ANALYZE calls, incidents, assignments, users, agencies"))
        counts = await conn.fetchrow(
            """SELECT (SELECT count(*) FROM calls) AS calls,
                      (SELECT count(*) FROM incidents) AS incidents,
                      (SELECT count(*) FROM assignments) AS assignments,
                      (SELECT min(received_at) FROM calls) AS first_call,
                      (SELECT max(received_at) FROM calls) AS last_call,
                      pg_size_pretty(pg_database_size(current_database())) AS size""")
        assert counts is not None  # an aggregate without GROUP BY answers one row
        load["rows"] = {k: counts[k] for k in ("calls", "incidents", "assignments")}
        load["span"] = [counts["first_call"].isoformat(), counts["last_call"].isoformat()]
        load["database_size"] = counts["size"]
    finally:
        await conn.close()
    return load


async def time_runs(
    engine: AsyncEngine, settings: Settings, shifts: list[tuple[date, str]]
) -> list[float]:
    sessions = make_sessionmaker(engine)
    durations = []
    for day, name in shifts:
        started = time.perf_counter()
        async with transaction(sessions) as session:
            await stats.shift_figures(session, settings, day, name)
        durations.append((time.perf_counter() - started) * 1000)
    return durations


async def time_statements(
    engine: AsyncEngine, settings: Settings, day: date, name: str, runs: int
) -> dict[str, dict[str, float]]:
    """Each statement of `shift_figures` on its own: `runs` transactions after a warm-up,
    each running every statement once and fetching its rows."""
    start, end = stats.shift_window(settings, day, name)
    durations: dict[str, list[float]] = {label: [] for label in stats.QUERIES}
    sessions = make_sessionmaker(engine)
    for run in range(runs + 1):
        async with transaction(sessions) as session:
            for label, sql in stats.QUERIES.items():
                started = time.perf_counter()
                (await session.execute(text(sql), {"start": start, "end": end})).all()
                if run:
                    durations[label].append((time.perf_counter() - started) * 1000)
    return {label: summary(values) for label, values in durations.items()}


def summary(durations: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(durations), 2),
        "min_ms": round(min(durations), 2),
        "max_ms": round(max(durations), 2),
        "runs": len(durations),
    }


def _walk(plan: dict[str, Any], found: dict[str, set[str]]) -> None:
    found["nodes"].add(plan["Node Type"])
    if "Index Name" in plan:
        found["indexes"].add(plan["Index Name"])
    if plan["Node Type"] == "Seq Scan":
        found["seq_scans"].add(plan["Relation Name"])
    for child in plan.get("Plans", []):
        _walk(child, found)


async def explain(engine: AsyncEngine, settings: Settings, day: date, name: str,
                  only: list[str] | None = None) -> dict[str, Any]:
    start, end = stats.shift_window(settings, day, name)
    report = {}
    async with transaction(make_sessionmaker(engine)) as session:
        for label, sql in stats.QUERIES.items():
            if only and label not in only:
                continue
            result = await session.execute(
                text("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql),
                {"start": start, "end": end},
            )
            document = result.scalar_one()
            document = json.loads(document) if isinstance(document, str) else document
            top = document[0]
            found: dict[str, set[str]] = {"nodes": set(), "indexes": set(), "seq_scans": set()}
            _walk(top["Plan"], found)
            report[label] = {
                "execution_ms": round(top["Execution Time"], 2),
                "planning_ms": round(top["Planning Time"], 2),
                "rows": top["Plan"].get("Actual Rows"),
                "shared_hit_blocks": top["Plan"].get("Shared Hit Blocks"),
                "shared_read_blocks": top["Plan"].get("Shared Read Blocks"),
                "indexes": sorted(found["indexes"]),
                "seq_scans": sorted(found["seq_scans"]),
            }
    return report


def machine() -> dict[str, Any]:
    memory_gib = None
    try:
        with open("/proc/meminfo") as meminfo:
            kib = int(meminfo.readline().split()[1])
        memory_gib = round(kib / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return {"cpus": os.cpu_count(), "memory_gib": memory_gib, "python": platform.python_version(),
            "platform": platform.platform()}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    url = await create_scratch(args.database_url)
    engine: AsyncEngine | None = None
    try:
        sa_url = sqlalchemy_url(url)
        settings = Settings(database_url=sa_url, secret_key="bench-secret-key-" + "x" * 32)
        log("migrating and loading the demo region")
        await migrate.upgrade_async(sa_url)
        await load_demo_into(sa_url)
        engine = make_engine(settings)
        surge_start, surge_end = stats.shift_window(settings, SURGE_DAY, SURGE_SHIFT)
        load = await bulk_load(url, args.calls, args.incidents,
                               (args.surge_incidents, surge_start, surge_end - surge_start)
                               if args.surge_incidents else None)
        async with engine.connect() as conn:
            server = (await conn.execute(text("SHOW server_version"))).scalar_one()
            shared_buffers = (await conn.execute(text("SHOW shared_buffers"))).scalar_one()

        target = [(TARGET_DAY, TARGET_SHIFT)]
        log(f"timing {TARGET_SHIFT} of {TARGET_DAY}")
        await time_runs(engine, settings, target)  # warm-up
        one = summary(await time_runs(engine, settings, target * args.runs))
        one_statements = await time_statements(engine, settings, TARGET_DAY, TARGET_SHIFT,
                                               args.runs)
        figures = await _figures(engine, settings)
        others = [(TARGET_DAY + timedelta(days=d), n)
                  for d, n in ((-170, "malam"), (-120, "pagi"), (-60, "siang"), (-3, "malam"),
                               (30, "pagi"), (90, "siang"), (150, "malam"))]
        first_touch = summary(await time_runs(engine, settings, others))
        day_ms = []
        for _ in range(args.runs):
            day_ms.append(sum(await time_runs(
                engine, settings, [(TARGET_DAY, n) for n in stats.shift_names(settings)])))
        plans = await explain(engine, settings, TARGET_DAY, TARGET_SHIFT)
        surge_report = None
        if args.surge_incidents:
            log(f"timing {SURGE_SHIFT} of {SURGE_DAY} (surge)")
            surge_shift = [(SURGE_DAY, SURGE_SHIFT)]
            await time_runs(engine, settings, surge_shift)
            surge_report = {
                "date": SURGE_DAY.isoformat(), "name": SURGE_SHIFT,
                "incidents": (await _figures(engine, settings, SURGE_DAY, SURGE_SHIFT))[
                    "incidents"]["total"],
                **summary(await time_runs(engine, settings, surge_shift * args.runs)),
                "statements": await time_statements(engine, settings, SURGE_DAY, SURGE_SHIFT,
                                                    args.runs),
                "explain_analyze": await explain(engine, settings, SURGE_DAY, SURGE_SHIFT),
            }
            surge_report["met"] = surge_report["median_ms"] <= TARGET_MS

        log("dropping ix_assignments_created_at to compare")
        async with engine.begin() as conn:
            await conn.execute(text("DROP INDEX IF EXISTS ix_assignments_created_at"))
            await conn.execute(text("ANALYZE assignments"))
        await time_runs(engine, settings, target)
        without = summary(await time_runs(engine, settings, target * args.runs))
        without_plans = await explain(engine, settings, TARGET_DAY, TARGET_SHIFT, ["agencies"])

        return {
            "benchmark": "shift statistics (dispatch.stats.shift_figures)",
            "machine": {**machine(), "postgres": server, "shared_buffers": shared_buffers},
            "data": load,
            "shift": {"date": TARGET_DAY.isoformat(), "name": TARGET_SHIFT,
                      "calls": figures["calls"]["total"],
                      "incidents": figures["incidents"]["total"],
                      "assignments": sum(a["assigned"] for a in figures["agencies"].values()),
                      "agencies": len(figures["agencies"]),
                      "operators": len(figures["operators"])},
            "one_shift": {**one, "target_ms": TARGET_MS, "met": one["median_ms"] <= TARGET_MS,
                          "statements": one_statements},
            "other_shifts_first_run": first_touch,
            "three_shifts_of_a_date": summary(day_ms),
            "surge_shift": surge_report,
            "explain_analyze": plans,
            "without_assignments_created_at_index": {
                "one_shift": without, "agencies_query": without_plans["agencies"]},
            "figures_sample": {"calls": figures["calls"], "times": figures["times"]},
        }
    finally:
        if engine is not None:
            await engine.dispose()
        log("dropping the scratch database")
        await drop_scratch(args.database_url)


async def _figures(engine: AsyncEngine, settings: Settings, day: date = TARGET_DAY,
                   name: str = TARGET_SHIFT) -> dict[str, Any]:
    async with transaction(make_sessionmaker(engine)) as session:
        return await stats.shift_figures(session, settings, day, name)


# A year of a 112 center of this region (the defaults; the harness's --year-of-data too).
YEAR_CALLS = 1_100_000
YEAR_INCIDENTS = 350_000
YEAR_SURGE_INCIDENTS = 35_000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=YEAR_CALLS)
    parser.add_argument("--incidents", type=int, default=YEAR_INCIDENTS)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--surge-incidents", type=int, default=YEAR_SURGE_INCIDENTS,
                        help="incidents added to one shift (0: none)")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL,
                        help="a server role that may create databases (libpq URL)")
    args = parser.parse_args(argv)
    if args.runs < 5:
        parser.error("--runs must be at least 5")
    print(json.dumps(asyncio.run(run(args)), indent=2, default=str))


if __name__ == "__main__":
    main()

"""`--year-of-data`: the scratch database gets bench/bench_stats.py's year (2025, WIB) before
the service starts, so that the intake is measured against a database that has been in
service for a year (the issue's growth criterion: within 10 % of the empty database).

The rows are bench_stats' own (`bulk_load`, its default sizes, its surge shift): 20
operators `bench-operator-NN` beside the demo accounts, incidents numbered `BENCH-n` and
`SURGE-n` (never the intake's `MJK-YYYYMMDD-NNNN`, and no `incident_days` row, so today's
numbering is untouched), every incident closed (none is an open incident for the
duplicates lookup), calls without a position, assignments to the demo agencies.

One change after the load keeps the service's own invariant: bench_stats leaves about 4 %
of the assignments of its closed incidents `queued` or `escalated` (its statistics count
them); the service cancels every open assignment when it closes an incident
(dispatch/incidents/changes.py), and left queued with a deadline in 2025 they would be
escalated (and rerouted, for P1/P2) by the service's sweeper in the first minutes of the
run, in the middle of the measurement. They are cancelled here, then VACUUM ANALYZE again.
"""

from __future__ import annotations

import time
from typing import Any

from bench.bench_stats import YEAR_CALLS, YEAR_INCIDENTS, YEAR_SURGE_INCIDENTS
from bench.harness.common import SECRET, log

CANCEL_OPEN_OF_CLOSED_SQL = """
UPDATE assignments a SET status = 'cancelled', updated_at = i.closed_at
FROM incidents i
WHERE i.id = a.incident_id AND i.status = 'closed'
  AND a.status IN ('queued', 'acknowledged', 'en_route', 'on_scene', 'escalated')
"""


async def load_year(url: str) -> dict[str, Any]:
    """bench_stats' year (default sizes, surge shift included) into the database at `url`
    (libpq URL), its VACUUM ANALYZE, then the open assignments of closed incidents
    cancelled. What `bulk_load` reports, plus `cancelled_open_assignments` and the
    seconds it all took."""
    import asyncpg

    from bench import bench_stats
    from dispatch.core.databases import sqlalchemy_url
    from dispatch.core.settings import Settings
    from dispatch.stats.figures import shift_window

    started = time.monotonic()
    settings = Settings(database_url=sqlalchemy_url(url), secret_key=SECRET)
    surge_start, surge_end = shift_window(settings, bench_stats.SURGE_DAY,
                                          bench_stats.SURGE_SHIFT)
    log(f"loading a year of data ({YEAR_CALLS:,} calls, {YEAR_INCIDENTS:,} incidents "
        f"+ {YEAR_SURGE_INCIDENTS:,} in the surge shift)")
    load = await bench_stats.bulk_load(
        url, YEAR_CALLS, YEAR_INCIDENTS,
        (YEAR_SURGE_INCIDENTS, surge_start, surge_end - surge_start))
    conn = await asyncpg.connect(url)
    try:
        status = await conn.execute(CANCEL_OPEN_OF_CLOSED_SQL)
        await conn.execute("VACUUM ANALYZE assignments")
        open_incidents = await conn.fetchval(
            "SELECT count(*) FROM incidents WHERE status <> 'closed'")
    finally:
        await conn.close()
    load["cancelled_open_assignments"] = int(status.split()[-1])
    load["open_incidents"] = int(open_incidents)
    load["total_s"] = round(time.monotonic() - started, 1)
    log(f"year of data loaded in {load['total_s']} s: {load['rows']}, "
        f"{load['database_size']}")
    return load

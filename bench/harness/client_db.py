"""The database helpers that run inside client processes: `hold_main` keeps one seq of the
event log in an open transaction (the feeds deliver nothing after it until release: a
pure fan-out measurement), `pg_waits_main` samples what the active backends wait on.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

_HOLD = """
    WITH tx AS MATERIALIZED (SELECT pg_current_xact_id()::text::bigint AS txid)
    INSERT INTO events (type, actor, entity, entity_id, txid)
    SELECT 'bench.hold', 'bench', 'bench', 'hold', tx.txid FROM tx
    RETURNING seq
"""


async def hold_main(pipe: Any, spec: dict[str, Any]) -> None:
    """Take one seq of the event log in an open transaction: the feed hubs deliver nothing
    after it (they keep seq order) until it is rolled back on `release`. That queues a
    whole burst of events, then lets it go at once: a pure fan-out measurement."""
    import asyncpg

    conn = await asyncpg.connect(spec["dsn"])
    try:
        transaction = conn.transaction()
        await transaction.start()
        seq = await conn.fetchval(_HOLD)
        pipe.send(("held", seq))
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, pipe.poll, spec.get("max_s", 600))
        released = time.time_ns()
        await transaction.rollback()
        pipe.send(("released", released))
    finally:
        await conn.close()


async def pg_waits_main(spec: dict[str, Any]) -> dict[str, Any]:
    """What the database's active backends wait on, sampled every 100 ms."""
    import asyncpg

    conn = await asyncpg.connect(spec["dsn"])
    waits: Counter[str] = Counter()
    samples = 0
    stop = time.monotonic() + spec["duration_s"]
    try:
        while time.monotonic() < stop:
            rows = await conn.fetch(
                """SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') AS w,
                          left(regexp_replace(query, '\\s+', ' ', 'g'), 70) AS q
                   FROM pg_stat_activity
                   WHERE datname = current_database() AND state = 'active'
                     AND pid <> pg_backend_pid() AND backend_type = 'client backend'""")
            samples += 1
            for row in rows:
                key = row["w"]
                if key.startswith(("Lock", "LWLock")):
                    key += " | " + row["q"]
                waits[key] += 1
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    return {"samples": samples,
            "mean_active_backends": round(sum(waits.values()) / samples, 2) if samples else 0,
            "top": [(k, round(n / samples, 2)) for k, n in waits.most_common(12)]}

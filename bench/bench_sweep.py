"""The escalation sweep's rate: how fast a backlog of unacknowledged assignments escalates.

    python -m bench.bench_sweep [--calls 2000] [--batch 100]

Creates a scratch database with the demo region, registers `--calls` calls with a category
through the ASGI app (one to three assignments each; acknowledgement deadlines a day away,
the app's own sweeper asleep), then moves every queued assignment's deadline into the past
and times `sweep_once` until nothing is overdue: escalations per second, statements per
escalation, and the CPU of this process and of PostgreSQL per escalation. Priority 1 and 2
incidents get the next agency of the kind assigned too (counted as `reassigned`). The
database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from sqlalchemy import event, text

from bench.profile_intake import ADMIN_URL, operator_intakes, postgres_cpu_s, scratch_app
from dispatch.assignments.sweeper import SWEEP_BATCH, sweep_once


async def run(calls: int, batch: int, admin_url: str) -> dict[str, Any]:
    async with scratch_app(admin_url, "siaga112_sweep",
                           escalation_sweep_interval_s=3600) as app:
        async with operator_intakes(app) as post:
            await post(calls)
        sessions = app.state.sessions
        async with sessions() as session, session.begin():
            overdue = (await session.execute(text(
                "UPDATE assignments SET ack_due_at = now() - interval '1 second'"
                " WHERE status = 'queued'"))).rowcount
        statements = 0

        def count(*_: Any) -> None:
            nonlocal statements
            statements += 1

        event.listen(app.state.engine.sync_engine, "before_cursor_execute", count)
        escalated = sweeps = 0
        started = time.perf_counter()
        cpu_started = time.process_time()
        postgres_started = postgres_cpu_s()
        while swept := await sweep_once(sessions, app.state.settings, app.state.agency_cache,
                                        batch=batch):
            escalated += swept
            sweeps += 1
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        postgres_cpu = postgres_cpu_s() - postgres_started
        event.remove(app.state.engine.sync_engine, "before_cursor_execute", count)
        async with sessions() as session:
            states = dict((await session.execute(text(
                "SELECT status, count(*) FROM assignments GROUP BY status"))).all())
            reassigned = await session.scalar(text(
                "SELECT count(*) FROM assignments WHERE reason = 'reroute'"))
    per = max(escalated, 1)
    return {"calls": calls, "overdue": overdue, "escalated": escalated,
            "reassigned": reassigned, "assignment_states": states, "batch": batch,
            "sweeps": sweeps, "elapsed_s": round(elapsed, 3),
            "escalations_per_s": round(escalated / elapsed, 1),
            "statements_per_escalation": round(statements / per, 2),
            "cpu_ms_per_escalation": round(cpu / per * 1000, 3),
            "postgres_cpu_ms_per_escalation": round(postgres_cpu / per * 1000, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=SWEEP_BATCH)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.calls, args.batch, args.admin_url))))


if __name__ == "__main__":
    main()

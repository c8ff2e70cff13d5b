"""The driver client process: logs in, sends the simulator's calls in a closed loop
(saturation) or an open loop (a rate), records each accepted call's incident and
agencies with its times, and sends the summary and the records to the parent.
"""

from __future__ import annotations

import time
from typing import Any


async def driver_main(pipe: Any, spec: dict[str, Any]) -> None:
    from bench.http_client import HttpClient
    from dispatch.tools.simulate.client import login
    from dispatch.tools.simulate.driver import Driver
    from dispatch.tools.simulate.traffic import generate_calls

    concurrency = spec.get("concurrency", 0)
    client = HttpClient(spec["base_url"],
                        max_connections=max(concurrency, spec.get("max_in_flight", 64)) + 8,
                        timeout_s=spec.get("timeout_s", 30.0))
    tokens = ["unused"]
    if spec.get("login", True):
        tokens = [await login(client, "operator", "operator-demo-112")]
    records: list[tuple[Any, ...]] = []
    last_done = [0]

    def hook(plan: Any, outcome: Any) -> None:
        last_done[0] = max(last_done[0], outcome.done_ns)
        if outcome.kind != "call" or outcome.status != 201 or not isinstance(outcome.body,
                                                                               dict):
            return
        incident = outcome.body.get("incident") or None
        assignments = incident.get("assignments") or [] if incident else []
        codes = tuple(sorted({a["agency"]["code"] for a in assignments}))
        records.append((outcome.body.get("id"), incident["id"] if incident else None,
                        outcome.done_ns, outcome.sent_ns, codes, len(assignments)))

    driver = Driver(client, tokens, seed=spec["seed"], on_outcome=hook,
                    close_pranks=spec.get("close_pranks", True))
    plans = generate_calls(spec["seed"], prank_share=spec.get("prank_share", 0.0))
    offset_ns = time.time_ns() - time.monotonic_ns()
    try:
        if spec["mode"] == "closed":
            await driver.closed_loop(plans, concurrency=concurrency,
                                     duration_s=spec["duration_s"])
        else:
            await driver.open_loop(plans, rate=spec["rate"], duration_s=spec["duration_s"],
                                   max_in_flight=spec.get("max_in_flight", 64),
                                   give_up_after_s=spec.get("give_up_after_s"))
    finally:
        await client.close()
    stats = driver.stats

    def wall(mono: float | None) -> int | None:
        return None if mono is None else int(mono * 1e9) + offset_ns

    pipe.send(("result", {
        "summary": stats.summary(), "records": records, "started_ns": wall(stats.started),
        "sending_ended_ns": wall(stats.sending_ended), "ended_ns": wall(stats.ended),
        "last_response_ns": last_done[0],
    }))

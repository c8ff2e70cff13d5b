"""The load phases: `surge` (10× the steady rate, then: is every 201 in the database and in
every feed, how long the backlog takes to drain) and `soak` (the service restarted, then
steady traffic for --soak-s seconds, RSS of each worker sampled from start to end).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from bench.harness.children import Child, Subscribers, drive
from bench.harness.common import log, run_async
from bench.harness.context import Context
from bench.harness.database import count_present
from bench.harness.feeds import expected_records, feed_targets, join_feed_latencies


def phase_surge(ctx: Context) -> dict[str, Any]:
    plan = ctx.plan
    base = ctx.service.base_url  # type: ignore[union-attr]
    count = plan.surge_subscribers_per_feed * 17
    targets = feed_targets(base, count, spread=True)
    groups = Counter(g for g, _ in targets)
    rate = plan.steady_rate * 10
    subs = Subscribers("feed", targets, processes=1, max_s=plan.surge_s +
                       plan.surge_drain_cap_s + 900, no_compression=ctx.args.no_compression)
    try:
        ready = subs.wait_ready()
        log(f"surge: {rate:g} calls/s for {plan.surge_s} s, {ready['connected']} subscribers")
        drove = drive({"base_url": base, "seed": ctx.args.seed + 3, "prank_share": 0.3,
                       "mode": "open", "rate": rate, "duration_s": plan.surge_s,
                       "max_in_flight": 64,
                       "give_up_after_s": plan.surge_s + plan.surge_drain_cap_s},
                      plan.surge_s + plan.surge_drain_cap_s + 300)
        expected = expected_records(drove["records"], groups)
        status = subs.wait_for("records", expected, stall_s=15, max_s=300)
        results = subs.stop()
    except BaseException:
        subs.abort()
        raise
    records = drove["records"]
    call_ids = [r[0] for r in records]
    incident_ids = [r[1] for r in records if r[1]]
    in_db_calls = run_async(count_present(ctx.db_url, "calls", call_ids))
    in_db_incidents = run_async(count_present(ctx.db_url, "incidents", incident_ids))
    feeds = join_feed_latencies(records, results)
    scheduled_end = drove["started_ns"] + int(plan.surge_s * 1e9)
    summary = drove["summary"]
    return {
        "rate": rate, "duration_s": plan.surge_s, "subscribers": ready, "driver": summary,
        "calls_201": len(call_ids), "calls_in_db": in_db_calls,
        "incidents": len(incident_ids), "incidents_in_db": in_db_incidents,
        "feed_deliveries_due": feeds["deliveries_due"],
        "feed_deliveries_lost": feeds["deliveries_lost"],
        "feed_closes": feeds["closes"], "feed_reconnects": feeds["reconnects"],
        "records_seen": status["records"],
        "nothing_lost": (in_db_calls == len(call_ids) and in_db_incidents == len(incident_ids)
                         and feeds["deliveries_lost"] == 0),
        "offered_calls": summary["scheduled"], "unsent_at_cap": summary["unsent"],
        "drained": summary["unsent"] == 0,
        "backlog_drain_s_after_surge": round((drove["last_response_ns"] - scheduled_end) / 1e9,
                                             2),
        "feeds_drain_s_after_surge": round((status["last_ns"] - scheduled_end) / 1e9, 2),
        "call_p99_ms_send_to_201": summary["call_p99_ms"],
        "call_p99_ms_schedule_to_201": summary["call_from_schedule_p99_ms"],
        "feed_accepted_to_frame_p50_ms": feeds["agency_accepted_to_frame_p50_ms"],
        "feed_accepted_to_frame_p99_ms": feeds["agency_accepted_to_frame_p99_ms"],
    }


def phase_soak(ctx: Context) -> dict[str, Any]:
    plan = ctx.plan
    soak_s = ctx.args.soak_s if ctx.args.soak_s is not None else plan.soak_s
    ctx.stop_service()
    server = ctx.start_service()
    targets = feed_targets(server.base_url, plan.soak_subscribers, spread=True)
    subs = Subscribers("feed", targets, processes=1, max_s=soak_s + 900,
                       no_compression=ctx.args.no_compression)
    samples: list[dict[str, Any]] = []
    try:
        ready = subs.wait_ready()
        drive({"base_url": server.base_url, "seed": ctx.args.seed + 4, "prank_share": 0.3,
               "mode": "open", "rate": plan.steady_rate, "duration_s": max(plan.warmup_s, 5)},
              300)
        start = server.rss()
        log(f"soak: {soak_s} s at {plan.steady_rate:g} calls/s; RSS at start {start}")
        child = Child("driver", {"base_url": server.base_url, "seed": ctx.args.seed + 5,
                                 "prank_share": 0.3, "mode": "open", "rate": plan.steady_rate,
                                 "duration_s": soak_s, "max_in_flight": 64})
        began = time.monotonic()
        try:
            while True:
                if child.pipe.poll(min(10.0, max(1.0, soak_s / 20))):
                    drove = child.recv(1)[1]
                    break
                samples.append({"t_s": round(time.monotonic() - began, 1), **server.rss()})
                if time.monotonic() - began > soak_s + 300:
                    raise TimeoutError("soak driver did not finish")
        finally:
            child.finish()
        subs.wait_for("records", 1 << 60, stall_s=3, max_s=30)
        end = server.rss()
        subs.stop()
    except BaseException:
        subs.abort()
        raise
    growth = {pid: round(end[pid] / start[pid] - 1, 4) for pid in start
              if start[pid] and end.get(pid)}
    return {"soak_s": soak_s, "rate": plan.steady_rate, "subscribers": ready,
            "rss_kib_start": start, "rss_kib_end": end, "rss_growth": growth,
            "rss_growth_max": max(growth.values()) if growth else None,
            "samples": samples, "driver": drove["summary"]}

"""The feed phases: `e2e` (201 → assignment frame at a steady rate with subscribers spread
over the feeds) and `fanout` (a held burst released to every /v1/feed subscriber), each
beside the bare broadcast replaying the same frames to as many clients.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Sequence
from typing import Any

from bench.harness.children import Child, PgWaits, Subscribers, drive
from bench.harness.common import log
from bench.harness.context import Context
from bench.harness.cpu import CpuShares
from bench.harness.feeds import expected_records, feed_targets, join_feed_latencies
from bench.harness.servers import Server, free_port


def e2e_service(ctx: Context, rate: float, subscribers: int, duration_s: float, seed: int
                ) -> tuple[dict[str, Any], list[tuple[str, str]], dict[str, Any]]:
    base = ctx.service.base_url  # type: ignore[union-attr]
    targets = feed_targets(base, subscribers, spread=True)
    groups = Counter(g for g, _ in targets)
    subs = Subscribers("feed", targets, processes=ctx.subscriber_processes(len(targets)),
                       max_s=duration_s + 900, no_compression=ctx.args.no_compression)
    try:
        ready = subs.wait_ready()
        log(f"e2e: {rate:g} calls/s, {ready['connected']} subscribers connected "
            f"({ready['failed']} failed)")
        rss_before = ctx.service.rss()  # type: ignore[union-attr]
        waits = PgWaits(ctx, duration_s)
        cpu = CpuShares(ctx.service, ctx.db_name)
        drove = drive({"base_url": base, "seed": seed, "prank_share": 0.3, "mode": "open",
                       "rate": rate, "duration_s": duration_s, "max_in_flight": 64},
                      duration_s + 600)
        cpu_cores = cpu.stop()
        expected = expected_records(drove["records"], groups)
        status = subs.wait_for("records", expected, stall_s=5, max_s=120)
        results = subs.stop()
    except BaseException:
        subs.abort()
        raise
    service = {"subscribers": ready, "rate": rate, "duration_s": duration_s,
               "prank_share": 0.3, "driver": drove["summary"],
               **join_feed_latencies(drove["records"], results),
               "records_expected": expected, "records_seen": status["records"],
               "service_rss_kib_before": rss_before, "cpu_cores": cpu_cores,
               "pg_waits": waits.collect()}
    return service, targets, drove


def phase_e2e(ctx: Context, intake: dict[str, Any] | None = None) -> dict[str, Any]:
    plan = ctx.plan
    service, targets, drove = e2e_service(ctx, plan.steady_rate, plan.e2e_subscribers,
                                          plan.e2e_s, ctx.args.seed + 1)
    groups = Counter(g for g, _ in targets)
    # The same frames (groups, sizes, times of acceptance) through the bare broadcast.
    start = min((r[2] for r in drove["records"]), default=0)
    schedule = sorted(((r[2] - start) / 1e9, code) for r in drove["records"] if r[1]
                      for code in r[4])
    bare = bare_broadcast(ctx, targets=[g for g, _ in targets], schedule=schedule,
                          size=int(service["mean_frame_bytes"] or 1500),
                          expected=sum(groups[code] + groups["*"] for _, code in schedule))
    out = {"service": service, "bare_broadcast": bare}
    saturation = ((intake or {}).get("saturation") or {}).get("calls_ok_per_s")
    driver = service["driver"]
    overloaded = ((driver["calls_ok_per_s"] or 0) < 0.95 * plan.steady_rate
                  or (driver["call_from_schedule_p99_ms"] or 0) > 1000)
    if overloaded:
        # The steady rate overloads the service here: also measure at a rate it sustains
        # (half the intake saturation, or half what it managed at the steady rate).
        rate = round((saturation or driver["calls_ok_per_s"] or 20) / 2, 1)
        out["service_at_half_saturation"], _, _ = e2e_service(
            ctx, rate, plan.e2e_subscribers, plan.e2e_s, ctx.args.seed + 6)
    return out


def bare_broadcast(ctx: Context, *, targets: Sequence[str], schedule: Sequence[tuple[float, str]],
                   size: int, expected: int) -> dict[str, Any]:
    from bench.bare_broadcast import summarize

    port = free_port()
    server = Server("bare_broadcast", [sys.executable, "-m", "bench.bare_broadcast", "serve",
                                       "--port", str(port), "--max-s", "3600"],
                    {**os.environ, "PYTHONUNBUFFERED": "1"}, port, ctx.log_dir)
    subs = None
    try:
        server.wait_ready("/healthz")
        urls = [(g, f"ws://127.0.0.1:{port}/sub/{g}") for g in targets]
        subs = Subscribers("bare", urls, processes=ctx.subscriber_processes(len(urls)),
                           max_s=900, no_compression=ctx.args.no_compression)
        ready = subs.wait_ready()
        duration = schedule[-1][0] if schedule else 0
        producer = Child("producer", {"url": f"ws://127.0.0.1:{port}/pub",
                                      "schedule": list(schedule), "size": size})
        try:
            sent = producer.recv(duration + 120)[1]
        finally:
            producer.finish()
        subs.wait_for("frames", expected, stall_s=5, max_s=120)
        results = subs.stop()
        subs = None
        summary = summarize(results, len(urls), len(schedule), expected)
        return {"clients_connected": ready, "size": size, **summary,
                "producer_s": round((sent["last_sent_ns"] - sent["first_sent_ns"]) / 1e9, 3)}
    finally:
        if subs is not None:
            subs.abort()
        server.stop()


def phase_fanout(ctx: Context) -> dict[str, Any]:
    plan = ctx.plan
    base = ctx.service.base_url  # type: ignore[union-attr]
    targets = feed_targets(base, plan.fanout_subscribers, spread=False)
    subs = Subscribers("feed", targets, processes=ctx.subscriber_processes(len(targets)),
                       max_s=900, no_compression=ctx.args.no_compression)
    try:
        ready = subs.wait_ready()
        log(f"fan-out: {ready['connected']} subscribers connected; holding the feeds")
        hold = Child("hold", {"dsn": ctx.db_url, "max_s": 600})
        try:
            held_seq = hold.recv(30)[1]
            drove = drive({"base_url": base, "seed": ctx.args.seed + 2, "prank_share": 0.0,
                           "mode": "open", "rate": 1000.0,
                           "duration_s": plan.fanout_calls / 1000.0, "max_in_flight": 32},
                          300)
            held_frames = subs.status()["frames"]
            hold.pipe.send(("release",))
            released_ns = hold.recv(30)[1]
        finally:
            hold.finish()
        events = sum(r[5] for r in drove["records"])
        expected_frames = events * ready["connected"]
        subs.wait_for("frames", expected_frames, stall_s=10, max_s=300)
        results = subs.stop()
    except BaseException:
        subs.abort()
        raise
    frames = sum(r["frames"] for r in results)
    first = min((r["first_ns"] for r in results if r["first_ns"]), default=0)
    last = max((r["last_ns"] for r in results), default=0)
    window = (last - first) / 1e9 if first else 0
    closes: Counter[str] = Counter()
    for result in results:
        for conn in result["conns"]:
            closes.update(conn["closes"])
    size = int(sum(r["bytes"] for r in results) / frames) if frames else 1500
    service = {
        "subscribers": ready, "calls": len(drove["records"]), "events": events,
        "frames_expected": expected_frames, "frames": frames,
        "delivery_window_s": round(window, 3),
        "frames_per_s": round(frames / window, 1) if window else None,
        "release_to_last_frame_s": round((last - released_ns) / 1e9, 3),
        "frames_before_release": held_frames, "held_seq": held_seq,
        "mean_frame_bytes": size, "closes": dict(closes), "driver": drove["summary"],
    }
    bare = bare_broadcast(ctx, targets=["*"] * ready["connected"],
                          schedule=[(0.0, "")] * max(events, 1), size=size,
                          expected=max(events, 1) * ready["connected"])
    return {"service": service, "bare_broadcast": bare}

"""The `targets` section of the JSON document: each measured ratio or value beside its
target (intake vs bare insert, e2e p99, fan-out vs bare broadcast, RSS growth) and the
surge's nothing-lost and drained verdicts.
"""

from __future__ import annotations

from typing import Any

from bench.harness.common import TARGETS


def targets_report(results: dict[str, Any]) -> dict[str, Any]:
    report: dict[str, Any] = {}
    intake = results.get("intake", {})
    bare_insert = results.get("bare_insert", {}).get("inserts_per_s")
    sat = intake.get("saturation", {}).get("calls_ok_per_s")
    if sat and bare_insert:
        ratio = sat / bare_insert
        report["intake_vs_bare_insert"] = {"ratio": round(ratio, 4), "target": ">= 0.40",
                                           "met": ratio >= TARGETS["intake_vs_bare_insert"]}
    bare_api = results.get("bare_api", {}).get("calls_ok_per_s")
    if sat and bare_api:
        report["intake_vs_bare_api"] = {"ratio": round(sat / bare_api, 4), "target": None}
    e2e = results.get("e2e", {}).get("service", {})
    p99 = e2e.get("agency_accepted_to_frame_p99_ms")
    if p99 is not None:
        bare_p99 = results["e2e"].get("bare_broadcast", {}).get("latency_p99_ms")
        report["e2e_p99_ms"] = {"value": p99, "bare_broadcast_p99_ms": bare_p99,
                                "target": "<= 50", "met": p99 <= TARGETS["e2e_p99_ms"]}
    fan = results.get("fanout", {})
    service_rate = fan.get("service", {}).get("frames_per_s")
    bare_rate = fan.get("bare_broadcast", {}).get("frames_per_s")
    if service_rate and bare_rate:
        ratio = service_rate / bare_rate
        report["fanout_vs_bare"] = {"ratio": round(ratio, 4), "target": ">= 0.50",
                                    "met": ratio >= TARGETS["fanout_vs_bare"]}
    growth = results.get("soak", {}).get("rss_growth_max")
    if growth is not None:
        report["rss_growth"] = {"value": growth, "target": "<= 0.10",
                                "met": growth <= TARGETS["rss_growth"]}
    surge = results.get("surge")
    if surge:
        report["surge_nothing_lost"] = {"met": bool(surge.get("nothing_lost"))}
        report["surge_backlog_drained"] = {
            "met": bool(surge.get("drained")), "unsent_at_cap": surge.get("unsent_at_cap"),
            "drain_s_after_surge": surge.get("backlog_drain_s_after_surge")}
    return report

"""Feed measurements: the feed URLs subscribers open (with a token per user), how many feed
records a driver run makes due, and the join of the driver's records with what the
subscribers saw (201 → frame latencies, lost deliveries, closes, reconnects).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from bench.harness.common import REPO
from bench.harness.servers import http_post_form


def pct(values: Sequence[float], q: float) -> float | None:
    from dispatch.tools.simulate.report import percentile

    value = percentile(values, q)
    return None if value is None else round(value, 2)


def demo_agency_codes() -> list[str]:
    data = json.loads((REPO / "dispatch" / "tools" / "demo_data" / "agencies.geojson").read_text())
    return [f["properties"]["code"] for f in data["features"]]


def feed_targets(base_url: str, count: int, *, spread: bool) -> list[tuple[str, str]]:
    """`count` feed URLs: round-robin over the 16 agency feeds and /v1/feed (spread), or
    all on /v1/feed."""
    ws = base_url.replace("http://", "ws://")
    tokens: dict[str, str] = {}

    def token(username: str) -> str:
        if username not in tokens:
            tokens[username] = http_post_form(
                base_url + "/auth/token",
                {"username": username, "password": f"{username}-demo-112"})["access_token"]
        return tokens[username]

    feeds = [*demo_agency_codes(), "*"] if spread else ["*"]
    targets = []
    for i in range(count):
        code = feeds[i % len(feeds)]
        if code == "*":
            targets.append(("*", f"{ws}/v1/feed?token={token('supervisor')}"))
        else:
            targets.append((code, f"{ws}/v1/agencies/{code}/feed?token={token(code.lower())}"))
    return targets


def expected_records(records: Sequence[tuple[Any, ...]], groups: Counter[str]) -> int:
    """Keyed feed records (first assignment.created per subscriber and incident) due."""
    total = 0
    for _call, incident, _acc, _sent, codes, _n in records:
        if incident:
            total += groups["*"] + sum(groups[c] for c in codes)
    return total


def join_feed_latencies(records: Sequence[tuple[Any, ...]], results: Sequence[dict[str, Any]]
                        ) -> dict[str, Any]:
    """201 → frame for each (subscriber, incident) due; lost ones counted."""
    accepted = {r[1]: r for r in records if r[1]}
    agency_ms: list[float] = []
    agency_sent_ms: list[float] = []
    supervisor_ms: list[float] = []
    due = lost = 0
    closes: Counter[str] = Counter()
    reconnects = 0
    for result in results:
        for conn in result["conns"]:
            group, seen = conn["group"], conn["seen"]
            closes.update(conn["closes"])
            reconnects += conn["reconnects"]
            for incident, (_call, _i, accepted_ns, sent_ns, codes, _n) in accepted.items():
                if group != "*" and group not in codes:
                    continue
                due += 1
                arrival = seen.get(incident)
                if arrival is None:
                    lost += 1
                    continue
                if group == "*":
                    supervisor_ms.append((arrival - accepted_ns) / 1e6)
                else:
                    agency_ms.append((arrival - accepted_ns) / 1e6)
                    agency_sent_ms.append((arrival - sent_ns) / 1e6)
    frames = sum(r["frames"] for r in results)
    return {
        "incidents": len(accepted), "deliveries_due": due, "deliveries_lost": lost,
        "agency_accepted_to_frame_p50_ms": pct(agency_ms, 50),
        "agency_accepted_to_frame_p99_ms": pct(agency_ms, 99),
        "agency_accepted_to_frame_max_ms": round(max(agency_ms), 2) if agency_ms else None,
        "agency_sent_to_frame_p50_ms": pct(agency_sent_ms, 50),
        "agency_sent_to_frame_p99_ms": pct(agency_sent_ms, 99),
        "supervisor_accepted_to_frame_p50_ms": pct(supervisor_ms, 50),
        "supervisor_accepted_to_frame_p99_ms": pct(supervisor_ms, 99),
        "frames": frames,
        "mean_frame_bytes": round(sum(r["bytes"] for r in results) / frames, 1) if frames else 0,
        "closes": dict(closes), "reconnects": reconnects,
    }

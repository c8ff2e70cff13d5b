"""What every part of the harness shares: the repository's path, the service's settings
under test, the targets, the phases, the plans (`FULL` and `QUICK`: how long and how big
each part is), the progress log on stderr and the event loop runner (uvloop when
installed).
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SECRET = "bench-secret-key-" + "k" * 32
PROJECT_PACKAGES = {"api", "dispatch", "geo", "agencies"}
PHASES = ("bare_insert", "bare_api", "intake", "e2e", "fanout", "surge", "soak")
TARGETS = {"intake_vs_bare_insert": 0.40, "e2e_p99_ms": 50.0, "fanout_vs_bare": 0.50,
           "rss_growth": 0.10}
SERVICE_ENV = {
    "DISPATCH_LOG_LEVEL": "WARNING",
    "DISPATCH_RATE_LIMIT_PER_S": "1000000",
    "DISPATCH_RATE_LIMIT_BURST": "1000000",
    "DISPATCH_ACK_TIMEOUT_S": "86400,86400,86400,86400",
    # The harness's thousand subscribers share one token per role.
    "DISPATCH_MAX_SOCKETS_PER_USER": "100000",
}


def log(message: str) -> None:
    print(f"[harness {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_async(coro: Any) -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


@dataclass(frozen=True)
class Plan:
    """How long and how big each part is."""

    bare_insert_s: float
    intake_s: float
    intake_concurrency: int
    warmup_s: float
    steady_rate: float
    e2e_s: float
    e2e_subscribers: int
    fanout_subscribers: int
    fanout_calls: int
    surge_s: float
    surge_subscribers_per_feed: int
    surge_drain_cap_s: float
    soak_subscribers: int
    soak_s: float


FULL = Plan(bare_insert_s=20, intake_s=30, intake_concurrency=48, warmup_s=5, steady_rate=100,
            e2e_s=60, e2e_subscribers=500, fanout_subscribers=1000, fanout_calls=150,
            surge_s=60, surge_subscribers_per_feed=2, surge_drain_cap_s=420,
            soak_subscribers=100, soak_s=60)
QUICK = Plan(bare_insert_s=3, intake_s=4, intake_concurrency=32, warmup_s=2, steady_rate=100,
             e2e_s=5, e2e_subscribers=50, fanout_subscribers=100, fanout_calls=20,
             surge_s=2, surge_subscribers_per_feed=1, surge_drain_cap_s=60,
             soak_subscribers=20, soak_s=10)

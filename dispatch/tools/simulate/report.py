"""What a drive measured: one `Outcome` per request, `DriveStats` over them (latency from the
send and from the open-loop schedule, statuses, transport errors) and the summary table."""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.table import Table


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100) of unsorted values; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(slots=True)
class Outcome:
    """One request's result. Times are time.time_ns() (comparable across processes on
    one machine); `scheduled_ns` is when the open-loop schedule wanted it sent."""

    kind: str  # call | disposition
    status: int  # 0: transport error
    scheduled_ns: int
    sent_ns: int
    done_ns: int
    body: Any = None  # parsed JSON of a 2xx answer
    error: str | None = None


@dataclass
class DriveStats:
    """Counters and latencies of one drive, updated as outcomes arrive."""

    scheduled: int = 0
    sent: int = 0
    done: int = 0
    in_flight: int = 0
    unsent: int = 0
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    latency_ms: dict[str, list[float]] = field(default_factory=dict)  # send → answer, 2xx
    schedule_ms: list[float] = field(default_factory=list)  # scheduled → answer, calls 2xx
    recent_ms: deque[float] = field(default_factory=lambda: deque(maxlen=2000))
    started: float = field(default_factory=time.monotonic)
    sending_ended: float | None = None
    ended: float | None = None

    def record(self, outcome: Outcome) -> None:
        """Count one answered (or failed) request."""
        self.done += 1
        self.statuses[(outcome.kind, outcome.status)] += 1
        if outcome.status == 0:
            self.transport_errors[outcome.error or "?"] += 1
        elif 200 <= outcome.status < 300:
            ms = (outcome.done_ns - outcome.sent_ns) / 1e6
            self.latency_ms.setdefault(outcome.kind, []).append(ms)
            if outcome.kind == "call":
                self.recent_ms.append(ms)
                self.schedule_ms.append((outcome.done_ns - outcome.scheduled_ns) / 1e6)

    def count(self, kind: str, ok: bool | None = None) -> int:
        """Requests of `kind` answered, only the 2xx ones (ok) or only the others."""
        return sum(n for (k, s), n in self.statuses.items() if k == kind and (
            ok is None or (200 <= s < 300) == ok))

    @property
    def failed(self) -> int:
        """5xx answers and transport errors."""
        return sum(n for (_, s), n in self.statuses.items() if s == 0 or s >= 500)

    def summary(self) -> dict[str, Any]:
        """The figures as a JSON-ready dict (milliseconds rounded to 0.01)."""
        elapsed = (self.ended or time.monotonic()) - self.started
        calls_ms = self.latency_ms.get("call", [])

        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 2)

        return {
            "scheduled": self.scheduled, "sent": self.sent, "unsent": self.unsent,
            "calls_ok": self.count("call", ok=True),
            "dispositions_ok": self.count("disposition", ok=True),
            "by_status": {f"{k} {s}": n for (k, s), n in sorted(self.statuses.items())},
            "transport_errors": dict(self.transport_errors),
            "failed_5xx_or_transport": self.failed,
            "elapsed_s": round(elapsed, 3),
            "calls_ok_per_s": round(self.count("call", ok=True) / elapsed, 2) if elapsed else None,
            "call_p50_ms": rounded(percentile(calls_ms, 50)),
            "call_p99_ms": rounded(percentile(calls_ms, 99)),
            "call_max_ms": rounded(max(calls_ms) if calls_ms else None),
            "call_from_schedule_p50_ms": rounded(percentile(self.schedule_ms, 50)),
            "call_from_schedule_p99_ms": rounded(percentile(self.schedule_ms, 99)),
            "disposition_p50_ms": rounded(percentile(self.latency_ms.get("disposition", []), 50)),
            "disposition_p99_ms": rounded(percentile(self.latency_ms.get("disposition", []), 99)),
        }


def summary_table(stats: DriveStats, title: str = "simulation") -> Table:
    """The summary as a rich table for the terminal."""
    s = stats.summary()
    table = Table(title=title)
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows: list[tuple[str, Any]] = [
        ("calls sent", s["sent"]), ("calls 201", s["calls_ok"]),
        ("dispositions 200", s["dispositions_ok"]), ("unsent (gave up)", s["unsent"]),
    ]
    rows += [(f"HTTP {k}", n) for k, n in s["by_status"].items() if not k.endswith(("201", "200"))]
    rows += [(f"transport error: {k}", n) for k, n in s["transport_errors"].items()]
    rows += [("calls 201 per s", s["calls_ok_per_s"]),
             ("call p50 / p99 ms", f"{s['call_p50_ms']} / {s['call_p99_ms']}"),
             ("call from schedule p50 / p99 ms",
              f"{s['call_from_schedule_p50_ms']} / {s['call_from_schedule_p99_ms']}"),
             ("disposition p50 / p99 ms",
              f"{s['disposition_p50_ms']} / {s['disposition_p99_ms']}")]
    for name, value in rows:
        table.add_row(name, str(value))
    return table

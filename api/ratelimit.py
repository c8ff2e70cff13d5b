"""Per-token request rate limit (token bucket), answering 429 with Retry-After.

The buckets live in each process: this is a safety valve against a runaway client or a
stolen token, not an exact quota, so N processes allow up to N times the rate. The
defaults are far above what a console sends even in a surge: an operator must never be
throttled by a disaster."""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict

from starlette.types import ASGIApp, Receive, Scope, Send

from api.problems import problem

MAX_TRACKED = 10_000


class TokenBuckets:
    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate = rate_per_s
        self.burst = burst
        self._buckets: OrderedDict[bytes, tuple[float, float]] = OrderedDict()

    def take(self, key: bytes, now: float | None = None) -> float:
        """Take one token; returns 0 when allowed, else seconds until one is free."""
        now = time.monotonic() if now is None else now
        tokens, stamp = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(self.burst, tokens + (now - stamp) * self.rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.rate
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > MAX_TRACKED:
            self._buckets.popitem(last=False)
        return wait


class RateLimit:
    """Applies to requests with a bearer token; others (health checks, login) pass."""

    def __init__(self, app: ASGIApp, rate_per_s: float, burst: int) -> None:
        self.app = app
        self.buckets = TokenBuckets(rate_per_s, burst)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            auth = dict(scope.get("headers") or []).get(b"authorization", b"")
            if auth[:7].lower() == b"bearer ":
                key = hashlib.blake2b(auth[7:], digest_size=16).digest()
                wait = self.buckets.take(key)
                if wait > 0:
                    response = problem(
                        429, "too many requests with this token; slow down",
                        headers={"Retry-After": str(max(1, math.ceil(wait)))},
                    )
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)

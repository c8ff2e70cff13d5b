"""Per-token request rate limit, answering 429 with Retry-After, shared by every process
and host through PostgreSQL (dispatch/core/ratelimits.py).

A safety valve against a runaway client or a stolen token: the defaults are far above
what a console sends even in a surge, so an operator is never throttled by a disaster.
A request whose token is well inside its limit costs no database round trip."""

from __future__ import annotations

import hashlib
import math

from starlette.types import ASGIApp, Receive, Scope, Send

from api.problems import problem
from dispatch.core.ratelimits import SharedRateLimiter


class RateLimit:
    """Applies to requests with a bearer token; others (health checks, log-in) pass. The
    limiter is the app's (`app.state.request_limiter`, made with the engine at start)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            auth = dict(scope.get("headers") or []).get(b"authorization", b"")
            if auth[:7].lower() == b"bearer ":
                limiter: SharedRateLimiter = scope["app"].state.request_limiter
                key = "token:" + hashlib.blake2b(auth[7:], digest_size=16).hexdigest()
                wait = await limiter.take(key)
                if wait > 0:
                    response = problem(
                        429, "too many requests with this token; slow down",
                        headers={"Retry-After": str(max(1, math.ceil(wait)))},
                    )
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)

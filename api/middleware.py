"""Pure ASGI middleware: body size cap, Prometheus request metrics, request ids and the
access log."""

from __future__ import annotations

import logging
import re
import time
import uuid

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem
from dispatch.core.logs import REQUEST_ID

REQUESTS = Counter(
    "siaga112_http_requests_total", "HTTP requests", ["method", "route", "status"]
)
LATENCY = Histogram(
    "siaga112_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """Refuse bodies over `max_bytes` with 413, by Content-Length before reading, or while
    streaming when the client sends none."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(413, f"the request body is larger than {self.max_bytes} bytes")
        await response(scope, receive, send)


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            method = scope.get("method", "")
            REQUESTS.labels(method, path, str(status)).inc()
            LATENCY.labels(method, path).observe(time.perf_counter() - started)


ACCESS = logging.getLogger("siaga112.access")
_GOOD_REQUEST_ID = re.compile(r"[\w.:-]{1,64}")


class RequestLog:
    """Gives each request and WebSocket an id (the client's `X-Request-ID` when it sends a
    sane one, else a new one), answers it in `X-Request-ID`, and writes the access log
    line with it, so every line a request causes carries the same id. Replaces uvicorn's
    access log, which runs outside the request's context and cannot know the id. The
    query string is logged as sent; the log filter removes tokens from it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        sent = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = sent if _GOOD_REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex[:16]
        token = REQUEST_ID.set(request_id)
        status: int | str = 500 if scope["type"] == "http" else "closed"
        started = time.perf_counter()

        async def tagged_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (b"x-request-id", request_id.encode())]
            elif message["type"] == "websocket.accept":
                status = "accepted"
            elif message["type"] == "websocket.close":
                status = f"closed {message.get('code', 1000)}"
            await send(message)

        try:
            await self.app(scope, receive, tagged_send)
        finally:
            query = scope.get("query_string", b"").decode("latin-1")
            target = scope.get("path", "") + (f"?{query}" if query else "")
            method = scope.get("method", "WebSocket")
            ACCESS.info("%s %s %s %.1f ms", method, target, status,
                        (time.perf_counter() - started) * 1000)
            REQUEST_ID.reset(token)

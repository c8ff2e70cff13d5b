"""The simulator's HTTP client (httpx) and the log-in that gives it operator tokens.

`ApiClient` is all the driver asks of a client: one request, answered with the status and
the raw body, or `TransportError` when there is no answer. `HttpxClient` is the one the
`dispatch simulate` command uses. The benchmark harness drives the service with the small
hand-written client of `bench/http_client.py` instead: on the 2-core benchmark machine httpx
costs the driver 1.2–2.4 ms more CPU per request with one request in flight and 4–5 ms more
with 48, against about 3 ms of service CPU per intake, so it would take from the service the
CPU the harness measures (BENCHMARKS.md, "HTTP client of the simulator: httpx vs the
hand-written one"). The same figures bound this command: one process of it tops out at a
few hundred requests per second there, so at higher rates it, not the service, is the limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol

import httpx
import orjson

KEEPALIVE_EXPIRY_S = 4.0  # uvicorn drops idle keep-alive connections after 5 s


class TransportError(Exception):
    """No HTTP response: refused, reset, timed out, malformed."""


class ApiClient(Protocol):
    """What the driver and the log-in need of an HTTP client."""

    timeout_s: float

    async def request(
        self, method: str, path: str, *, json_body: Any = None,
        form: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """(status, body) of one request to `path` under the base URL; a JSON body
        (serialised with orjson) or a form. Raises TransportError when nothing answered."""
        ...

    async def close(self) -> None:
        """Close the connections."""
        ...


def http_base_url(base_url: str) -> str:
    """`base_url` with a scheme (`host:port` means http) and no trailing slash; ValueError
    when it is not an http(s) URL."""
    try:
        url = httpx.URL(base_url if "://" in base_url else "http://" + base_url)
    except httpx.InvalidURL as exc:
        raise ValueError(f"not an http(s) URL: {base_url!r} ({exc})") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"not an http(s) URL: {base_url!r}")
    return str(url).rstrip("/")


class HttpxClient:
    """Keep-alive HTTP/1.1 over at most `max_connections` pooled httpx connections.

    `timeout_s` bounds connecting, each read and each write; waiting for a free connection
    is not bounded (the driver already caps the requests in flight below the pool size).
    Proxy variables of the environment are ignored: the simulator talks to the service
    directly."""

    def __init__(self, base_url: str, *, max_connections: int = 64,
                 timeout_s: float = 30.0) -> None:
        self.timeout_s = timeout_s
        self._client = httpx.AsyncClient(
            base_url=http_base_url(base_url),
            headers={"Accept": "application/json"},
            limits=httpx.Limits(max_connections=max_connections,
                                max_keepalive_connections=max_connections,
                                keepalive_expiry=KEEPALIVE_EXPIRY_S),
            timeout=httpx.Timeout(timeout_s, pool=None),
            trust_env=False,
        )

    async def request(
        self, method: str, path: str, *, json_body: Any = None,
        form: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """(status, body) of one request; TransportError when nothing answered."""
        sent_headers = dict(headers or {})
        content: bytes | None = None
        if form is None and json_body is not None:
            content = orjson.dumps(json_body)
            sent_headers["Content-Type"] = "application/json"
        try:
            response = await self._client.request(
                method, path, content=content, data=dict(form) if form is not None else None,
                headers=sent_headers)
        except httpx.TransportError as exc:
            raise TransportError(type(exc).__name__) from None
        return response.status_code, response.content

    async def close(self) -> None:
        """Close the pooled connections."""
        await self._client.aclose()


async def login(client: ApiClient, username: str, password: str) -> str:
    """An access token of the account (`POST /auth/token`); TransportError when refused."""
    status, body = await client.request("POST", "/auth/token",
                                        form={"username": username, "password": password})
    if status != 200:
        raise TransportError(f"log-in as {username!r} failed with HTTP {status}: "
                             f"{body[:200].decode(errors='replace')}")
    token: str = orjson.loads(body)["access_token"]
    return token


async def login_many(client: ApiClient, username: str, password: str, count: int) -> list[str]:
    """`count` distinct tokens of one account, one per simulated console (tokens issued in
    the same second are identical, so this takes about `count` seconds)."""
    tokens: list[str] = []
    for _ in range(3 * count):
        token = await login(client, username, password)
        if token not in tokens:
            tokens.append(token)
        if len(tokens) >= count:
            break
        await asyncio.sleep(1.05)
    return tokens

"""The driver's HTTP client in the benchmark harness: keep-alive HTTP/1.1 written for this API
on asyncio streams.

`dispatch simulate` uses httpx (`dispatch.tools.simulate.client.HttpxClient`). The harness
runs its driver on the same 2 cores as the service it measures, and there this client costs
0.13–0.14 ms of CPU per request where httpx costs 1.4–2.6 ms with one request in flight and
4.2–5.2 ms with 48, against about 3 ms of service CPU per intake: httpx would lower the very
figures the harness reports (BENCHMARKS.md, "HTTP client of the simulator: httpx vs the
hand-written one"; `python -m bench.bench_http_client`). Same interface (`ApiClient`) and
errors (`TransportError`) as the simulator's client.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson

from dispatch.tools.simulate.client import TransportError


class _Connection:
    """One keep-alive connection, used by one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.used_at = time.monotonic()
        self.uses = 0

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a broken socket: nothing to do
            self.writer.close()

    async def roundtrip(self, raw: bytes) -> tuple[int, bytes, bool]:
        """Send one request; (status, body, keep_alive)."""
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length: int | None = None
        chunked, keep = False, True
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                keep = value.strip().lower() != b"close"
        if status < 200 or status in (204, 304):
            body = b""
        elif chunked:
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            body = b"".join(parts)
        elif length is not None:
            body = await self.reader.readexactly(length)
        else:
            body = await self.reader.read()
            keep = False
        self.used_at = time.monotonic()
        self.uses += 1
        return status, body, keep


class HttpClient:
    """Keep-alive HTTP/1.1 over at most `max_connections` connections (one request per
    connection at a time). Enough for this API: JSON or form bodies, JSON answers."""

    IDLE_REUSE_S = 4.0  # uvicorn drops idle keep-alive connections after 5 s

    def __init__(self, base_url: str, *, max_connections: int = 64,
                 timeout_s: float = 30.0) -> None:
        parts = urlsplit(base_url if "://" in base_url else "http://" + base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.ssl = ssl.create_default_context() if parts.scheme == "https" else None
        self.prefix = parts.path.rstrip("/")
        self.authority = parts.netloc.encode()
        self.timeout_s = timeout_s
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(max_connections)

    async def _connect(self) -> _Connection:
        reader, writer = await asyncio.open_connection(self.host, self.port, ssl=self.ssl,
                                                       limit=1 << 20)
        return _Connection(reader, writer)

    def _raw(self, method: str, path: str, body: bytes, content_type: str | None,
             headers: Mapping[str, str] | None) -> bytes:
        lines = [f"{method} {self.prefix}{path} HTTP/1.1".encode(),
                 b"Host: " + self.authority, b"Accept: application/json",
                 b"Content-Length: " + str(len(body)).encode()]
        if content_type:
            lines.append(b"Content-Type: " + content_type.encode())
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}".encode())
        return b"\r\n".join(lines) + b"\r\n\r\n" + body

    async def request(
        self, method: str, path: str, *, json_body: Any = None,
        form: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """(status, body) of one request; TransportError when nothing answered. A reused
        connection the server had just closed is retried once on a fresh one."""
        if form is not None:
            body, content_type = urlencode(form).encode(), "application/x-www-form-urlencoded"
        elif json_body is not None:
            body, content_type = orjson.dumps(json_body), "application/json"
        else:
            body, content_type = b"", None
        raw = self._raw(method, path, body, content_type, headers)
        async with self._slots:
            for attempt in range(2):
                conn = None
                while self._idle:
                    candidate = self._idle.pop()
                    if time.monotonic() - candidate.used_at < self.IDLE_REUSE_S:
                        conn = candidate
                        break
                    candidate.close()
                reused = conn is not None
                try:
                    async with asyncio.timeout(self.timeout_s):
                        if conn is None:
                            conn = await self._connect()
                        status, payload, keep = await conn.roundtrip(raw)
                except asyncio.IncompleteReadError as exc:
                    if conn is not None:
                        conn.close()
                    # A reused connection the server had just closed: nothing was answered,
                    # nothing was processed; one retry on a fresh connection.
                    if reused and not exc.partial and attempt == 0:
                        continue
                    raise TransportError("connection closed mid-response") from None
                except (OSError, TimeoutError, ValueError, IndexError,
                        asyncio.LimitOverrunError) as exc:
                    if conn is not None:
                        conn.close()
                    if reused and isinstance(exc, ConnectionResetError) and attempt == 0:
                        continue
                    raise TransportError(type(exc).__name__) from None
                if keep:
                    self._idle.append(conn)
                else:
                    conn.close()
                return status, payload
        raise TransportError("connection closed twice")

    async def close(self) -> None:
        """Close the idle connections."""
        while self._idle:
            self._idle.pop().close()

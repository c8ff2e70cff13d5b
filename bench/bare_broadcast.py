"""The limit beside the feeds: a bare `websockets` server that broadcasts every message it
gets on /pub to every client connected anywhere else, and the client side that measures.

    python -m bench.bare_broadcast serve [--port 8198] [--max-s 3600]
    python -m bench.bare_broadcast run [--clients 500] [--messages 1000] [--rate 100]
                                       [--size 1500]

`serve` is what bench/harness/ starts as a separate process. Clients connect with the
library defaults (permessage-deflate offered and accepted, as the service's uvicorn does).
A message is JSON `{"id": n, "t": time.time_ns() at send, "pad": "…"}` padded to `size`
bytes (the harness uses the service's mean frame size); a client records arrival − t.
`run` does a whole measurement in one process (server in a subprocess) and prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import orjson
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed

from dispatch.tools.simulate.report import percentile


async def serve_broadcast(host: str, port: int, max_s: float) -> None:
    """Clients connect to /sub/<group> (`*`: everything); a message on /pub is
    `groups|body` (comma-separated groups, may be empty) and goes to the clients of those
    groups and of `*`, with websockets.broadcast (no per-client queue, no back-pressure)."""
    groups: dict[str, set[ServerConnection]] = {"*": set()}

    async def handler(connection: ServerConnection) -> None:
        path = connection.request.path if connection.request is not None else "/sub/*"
        if path.startswith("/pub"):
            async for message in connection:
                text = message if isinstance(message, str) else message.decode()
                head, _, body = text.partition("|")
                targets = groups["*"]
                for group in head.split(",") if head else ():
                    if groups.get(group):
                        targets = targets | groups[group]
                broadcast(targets, body)
            return
        group = path.removeprefix("/sub").strip("/") or "*"
        members = groups.setdefault(group, set())
        members.add(connection)
        try:
            await connection.wait_closed()
        finally:
            members.discard(connection)

    def health(connection: ServerConnection, request: Any) -> Any:
        if request.path == "/healthz":
            return connection.respond(HTTPStatus.OK, "ok\n")
        return None

    async with serve(handler, host, port, process_request=health, max_size=1 << 22,
                     ping_interval=20, ping_timeout=20):
        await asyncio.sleep(max_s)


def make_message(number: int, size: int) -> str:
    head = f'{{"id":{number},"t":{time.time_ns()},"pad":"'
    return head + "x" * max(0, size - len(head) - 2) + '"}'


@dataclass
class BareSink:
    """What the clients of one process saw."""

    latencies_ns: array = field(default_factory=lambda: array("q"))
    frames: int = 0
    bytes: int = 0
    first_ns: int | None = None
    last_ns: int = 0
    closed: int = 0

    def add(self, text: str | bytes) -> None:
        now = time.time_ns()
        message = orjson.loads(text)
        self.latencies_ns.append(now - message["t"])
        self.frames += 1
        self.bytes += len(text)
        if self.first_ns is None:
            self.first_ns = now
        self.last_ns = now

    def result(self) -> dict[str, Any]:
        return {"latencies_ns": self.latencies_ns.tobytes(), "frames": self.frames,
                "bytes": self.bytes, "first_ns": self.first_ns, "last_ns": self.last_ns,
                "closed": self.closed}


async def bare_client(url: str, sink: BareSink, connected: list[Any],
                      compression: str | None = "deflate") -> None:
    """One client: connect (appending the connection to `connected`), record each frame."""
    async with connect(url, open_timeout=30, ping_interval=None, max_size=1 << 22,
                       close_timeout=2, compression=compression) as ws:
        connected.append(ws)
        try:
            async for text in ws:
                sink.add(text)
        except ConnectionClosed:
            sink.closed += 1


async def produce(url: str, schedule: Sequence[tuple[float, str]], size: int
                  ) -> dict[str, Any]:
    """Send one message per (offset_s, groups) of `schedule`, at start + offset."""
    async with connect(url, open_timeout=30, ping_interval=None, max_size=1 << 22) as ws:
        start = time.perf_counter()
        first_ns = time.time_ns()
        for number, (offset, groups) in enumerate(schedule):
            delay = start + offset - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await ws.send(groups + "|" + make_message(number, size))
        last_ns = time.time_ns()
        await asyncio.sleep(0.2)
    return {"messages": len(schedule), "first_sent_ns": first_ns, "last_sent_ns": last_ns}


def summarize(sinks: Sequence[dict[str, Any]], clients: int, messages: int,
              expected: int | None = None) -> dict[str, Any]:
    """Latency and fan-out over the sinks of every client process."""
    latencies: list[float] = []
    for sink in sinks:
        values = array("q")
        values.frombytes(sink["latencies_ns"])
        latencies.extend(v / 1e6 for v in values)
    frames = sum(s["frames"] for s in sinks)
    firsts = [s["first_ns"] for s in sinks if s["first_ns"]]
    last = max((s["last_ns"] for s in sinks), default=0)
    window_s = (last - min(firsts)) / 1e9 if firsts else 0.0
    return {
        "clients": clients, "messages": messages,
        "frames_expected": clients * messages if expected is None else expected,
        "frames": frames, "closed_early": sum(s["closed"] for s in sinks),
        "mean_frame_bytes": round(sum(s["bytes"] for s in sinks) / frames, 1) if frames else 0,
        "latency_p50_ms": round(percentile(latencies, 50) or 0, 3),
        "latency_p99_ms": round(percentile(latencies, 99) or 0, 3),
        "delivery_window_s": round(window_s, 3),
        "frames_per_s": round(frames / window_s, 1) if window_s > 0 else None,
    }


async def _run(port: int, clients: int, messages: int, rate: float | None, size: int
               ) -> dict[str, Any]:
    sink = BareSink()
    connected: list[Any] = []
    tasks: list[asyncio.Task[None]] = []
    try:
        for _ in range(100):
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            await asyncio.sleep(0.1)
        for _ in range(clients):
            tasks.append(asyncio.create_task(
                bare_client(f"ws://127.0.0.1:{port}/sub/*", sink, connected)))
        for _ in range(600):
            if len(connected) >= clients:
                break
            await asyncio.sleep(0.05)
        schedule = [(n / rate if rate else 0.0, "") for n in range(messages)]
        await produce(f"ws://127.0.0.1:{port}/pub", schedule, size)
        for _ in range(600):
            before = sink.frames
            if before >= clients * messages:
                break
            await asyncio.sleep(0.1)
            if sink.frames == before and before:
                await asyncio.sleep(2)
                if sink.frames == before:
                    break
        return summarize([sink.result()], clients, messages)
    finally:
        for ws in connected:
            with contextlib.suppress(Exception):
                await ws.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    srv = sub.add_parser("serve")
    srv.add_argument("--host", default="127.0.0.1")
    srv.add_argument("--port", type=int, default=8198)
    srv.add_argument("--max-s", type=float, default=3600.0, help="stop after this long")
    run = sub.add_parser("run")
    run.add_argument("--clients", type=int, default=500)
    run.add_argument("--messages", type=int, default=1000)
    run.add_argument("--rate", type=float, default=100.0, help="0: as fast as possible")
    run.add_argument("--size", type=int, default=1500)
    args = parser.parse_args(argv)
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    if args.command == "serve":
        with contextlib.suppress(KeyboardInterrupt):
            runner(serve_broadcast(args.host, args.port, args.max_s))
        return
    if not (1 <= args.clients <= 5000 and 1 <= args.messages <= 1_000_000):
        parser.error("clients 1..5000, messages 1..1e6")
    from bench.harness.servers import free_port

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "bench.bare_broadcast", "serve",
                               "--port", str(port), "--max-s", "900"])
    try:
        result = runner(_run(port, args.clients, args.messages, args.rate or None, args.size))
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

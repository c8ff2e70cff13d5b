"""Client CPU per request: the harness's hand-written HTTP client against httpx.

    .venv/bin/python -m bench.bench_http_client [--requests 2000] [--concurrency 1,48]
        [--rounds 5] [--loop uvloop|asyncio]

A trivial Starlette app (uvicorn, uvloop + httptools, one worker) runs on 127.0.0.1 in a
subprocess and answers `POST /v1/calls` with 201 and a JSON body about the size of an
intake's answer. In this process, on the event loop the harness's driver uses (uvloop),
each client posts the same call body with a bearer token `--requests` times with
`--concurrency` requests in flight, after a warm-up of 200; `time.process_time()` of this
process over those requests, divided by their number, is the client's CPU per request.
Rounds alternate the clients; the median and the range are printed, with the requests per
second the client reached and whether `sniffio` is importable (httpcore retries a failing
import of it each time it sets up a lock when it is absent, which is much slower).
Both clients are driven through `request()`, the one method the driver calls.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from bench.http_client import HttpClient
from dispatch.tools.simulate.client import ApiClient, HttpxClient

HOST = "127.0.0.1"  # loopback only
WARMUP = 200
CALL = {"caller_number": "+6281234567890", "channel": "voice", "category": "medical",
        "location": {"lat": -7.4722, "lon": 112.4338, "accuracy_m": 30.0},
        "description": "ibu pingsan di rumah, tidak sadar"}
HEADERS = {"Authorization": "Bearer " + "t" * 180}
ASSIGNMENT = {"agency": {"code": "AMB-MJK-01", "name": "Ambulans Kota Mojokerto"},
              "state": "pending", "reason": "category medical, point inside the coverage area"}
ANSWER = json.dumps({"id": "0" * 36, "received_at": "2026-01-01T00:00:00+00:00",
                     "incident": {"id": "1" * 36, "number": "MJK-20260101-0001",
                                  "assignments": [ASSIGNMENT] * 5}}).encode()

CLIENTS: dict[str, Callable[..., ApiClient]] = {
    "hand-written (bench/http_client.py)": HttpClient,
    "httpx (HttpxClient)": HttpxClient,
}


def serve(port: int) -> None:
    """The trivial server (run in the subprocess)."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def calls(request: Request) -> Response:
        await request.body()
        return Response(ANSWER, status_code=201, media_type="application/json")

    app = Starlette(routes=[Route("/v1/calls", calls, methods=["POST"])])
    uvicorn.run(app, host=HOST, port=port, loop="uvloop", http="httptools",
                log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_listening(port: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on {HOST}:{port} did not start")


async def in_flight(one: Callable[[], Awaitable[None]], count: int, concurrency: int) -> None:
    """`count` calls of `one`, `concurrency` at a time (closed loop)."""
    turns = iter(range(count))

    async def worker() -> None:
        for _ in turns:
            await one()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def measure(make: Callable[..., ApiClient], base_url: str, requests: int,
                  concurrency: int) -> tuple[float, float]:
    """(client CPU ms per request, requests per second) of one client."""
    client = make(base_url, max_connections=concurrency + 8, timeout_s=30.0)

    async def one() -> None:
        status, _ = await client.request("POST", "/v1/calls", json_body=CALL, headers=HEADERS)
        if status != 201:
            raise RuntimeError(f"HTTP {status}")

    try:
        await in_flight(one, WARMUP, concurrency)
        cpu, wall = time.process_time(), time.perf_counter()
        await in_flight(one, requests, concurrency)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await client.close()
    return cpu / requests * 1e3, requests / wall


def run(coro: Coroutine[Any, Any, tuple[float, float]], loop: str) -> tuple[float, float]:
    if loop == "uvloop":
        import uvloop

        return uvloop.run(coro)
    return asyncio.run(coro)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", default="1,48", help="comma-separated")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "bench.bench_http_client",
                               "--serve", str(port)])
    results: dict[str, Any] = {
        "requests": args.requests, "rounds": args.rounds, "loop": args.loop,
        "answer_bytes": len(ANSWER),
        "sniffio_importable": importlib.util.find_spec("sniffio") is not None,
        "by_concurrency": {},
    }
    try:
        wait_listening(port)
        base_url = f"http://{HOST}:{port}"
        for concurrency in (int(c) for c in args.concurrency.split(",")):
            samples: dict[str, list[tuple[float, float]]] = {name: [] for name in CLIENTS}
            for _ in range(args.rounds):
                for name, make in CLIENTS.items():
                    samples[name].append(run(measure(make, base_url, args.requests,
                                                     concurrency), args.loop))
            row: dict[str, Any] = {}
            for name, values in samples.items():
                cpu = [c for c, _ in values]
                row[name] = {"cpu_ms_per_request_median": round(statistics.median(cpu), 3),
                             "cpu_ms_per_request_range": [round(min(cpu), 3),
                                                          round(max(cpu), 3)],
                             "requests_per_s_median": round(
                                 statistics.median(r for _, r in values))}
                print(f"concurrency {concurrency:>3}  {name:<36} CPU "
                      f"{row[name]['cpu_ms_per_request_median']:.3f} ms/request "
                      f"(range {min(cpu):.3f}–{max(cpu):.3f}), "
                      f"{row[name]['requests_per_s_median']} requests/s", flush=True)
            results["by_concurrency"][str(concurrency)] = row
    finally:
        server.terminate()
        server.wait(10)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

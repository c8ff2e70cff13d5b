"""The subscriber client process: opens the service's feeds (reconnecting with `since`) or
the bare broadcast's, reports ready, records when each assignment frame arrives, answers
the parent's `status` and `stop`, and sends what it saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from typing import Any


async def subscribers_main(pipe: Any, spec: dict[str, Any]) -> None:
    """Open every target, report ready, then answer `status` / `stop` from the parent."""
    import orjson
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

    from bench.bare_broadcast import BareSink, bare_client

    mode = spec["mode"]
    targets: list[tuple[str, str]] = spec["targets"]
    compression = None if spec.get("no_compression") else "deflate"
    deadline = time.monotonic() + spec["max_s"]
    opening = asyncio.Semaphore(spec.get("connect_concurrency", 50))
    stopping = asyncio.Event()
    connected: list[Any] = []
    failed = Counter[str]()
    ready = [0]
    sink = BareSink()
    state = {"records": 0, "frames": 0, "bytes": 0, "first_ns": None, "last_ns": 0}
    per_conn: list[dict[str, Any]] = []

    async def feed(index: int, group: str, url: str) -> None:
        record: dict[str, Any] = {"group": group, "seen": {}, "frames": 0, "closes": Counter(),
                                  "reconnects": 0, "last_seq": None}
        per_conn.append(record)
        first = True
        for _attempt in range(30):
            if stopping.is_set():
                return
            since = record["last_seq"]
            target = url if since is None else f"{url}&since={since}"
            try:
                async with opening:
                    ws = await connect(target, open_timeout=30, ping_interval=None,
                                       max_size=1 << 22, close_timeout=2,
                                       compression=compression)
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
                failed[type(exc).__name__] += 1
                if first:
                    ready[0] += 1
                    first = False
                await asyncio.sleep(0.5)
                continue
            connected.append(ws)
            if first:
                ready[0] += 1
                first = False
            else:
                record["reconnects"] += 1
            seen = record["seen"]
            try:
                async for text in ws:
                    now = time.time_ns()
                    frame = orjson.loads(text)
                    record["frames"] += 1
                    state["frames"] += 1
                    state["bytes"] += len(text)
                    if state["first_ns"] is None:
                        state["first_ns"] = now
                    state["last_ns"] = now
                    if "seq" in frame:
                        record["last_seq"] = frame["seq"]
                    incident = frame.get("incident")
                    if frame.get("type") == "assignment.created" and incident:
                        key = incident["id"]
                        if key not in seen:
                            seen[key] = now
                            state["records"] += 1
            except ConnectionClosed:
                pass
            code = ws.close_code
            if stopping.is_set():
                return
            record["closes"][str(code)] += 1
            await asyncio.sleep(0.2)

    async def bare(url: str) -> None:
        try:
            await bare_client(url, sink, connected, compression=compression)
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            failed[type(exc).__name__] += 1

    tasks = []
    for index, (group, url) in enumerate(targets):
        if mode == "feed":
            tasks.append(asyncio.create_task(feed(index, group, url)))
        else:
            tasks.append(asyncio.create_task(bare(url)))
    while time.monotonic() < deadline:
        # feed: every connection made its first attempt; bare: connected or failed for good
        opened = len(connected) + sum(failed.values()) if mode == "bare" else ready[0]
        if opened >= len(targets):
            break
        await asyncio.sleep(0.05)
    pipe.send(("ready", {"connected": len(connected), "failed": dict(failed)}))
    loop = asyncio.get_running_loop()
    while time.monotonic() < deadline:
        if not await loop.run_in_executor(None, pipe.poll, 0.5):
            continue
        message = pipe.recv()
        if message[0] == "status":
            frames = sink.frames if mode == "bare" else state["frames"]
            pipe.send(("status", {"records": state["records"], "frames": frames,
                                  "last_ns": max(state["last_ns"], sink.last_ns)}))
        elif message[0] == "stop":
            break
    stopping.set()
    await asyncio.gather(*(_close(ws) for ws in connected), return_exceptions=True)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if mode == "bare":
        result: dict[str, Any] = sink.result()
    else:
        result = {"conns": [{**r, "closes": dict(r["closes"])} for r in per_conn],
                  "frames": state["frames"], "bytes": state["bytes"],
                  "first_ns": state["first_ns"], "last_ns": state["last_ns"]}
    result["failed"] = dict(failed)
    pipe.send(("result", result))


async def _close(ws: Any) -> None:
    with contextlib.suppress(Exception):
        async with asyncio.timeout(3):
            await ws.close()

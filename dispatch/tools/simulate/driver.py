"""The driver: posts planned calls with a token per simulated console, and closes the prank
and ghost calls with their disposition.

Open loop (`Driver.open_loop`): each call has a scheduled send time whether or not earlier
calls were answered, with a bounded number of requests in flight, so a slow service shows
as latency from the schedule. Closed loop (`Driver.closed_loop`): a fixed number of workers,
each sending the next call when the previous one was answered: the throughput at
saturation.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import orjson

from dispatch.tools.simulate.client import ApiClient, TransportError
from dispatch.tools.simulate.report import DriveStats, Outcome
from dispatch.tools.simulate.traffic import PlannedCall, disposition_body

OutcomeHook = Callable[[PlannedCall, Outcome], None]  # called once per request answered


class Driver:
    """Posts planned calls (and the dispositions of pranks) with a token per console."""

    def __init__(
        self, client: ApiClient, tokens: Sequence[str], *, seed: int | None = None,
        on_outcome: OutcomeHook | None = None, path: str = "/v1/calls",
        close_pranks: bool = True,
    ) -> None:
        if not tokens:
            raise ValueError("at least one token is needed")
        self.client = client
        self.headers = [{"Authorization": f"Bearer {t}"} for t in tokens]
        self.rng = random.Random(seed)
        self.on_outcome = on_outcome
        self.path = path
        self.close_pranks = close_pranks
        self.stats = DriveStats()
        self._turn = 0

    def _headers(self) -> Mapping[str, str]:
        self._turn += 1
        return self.headers[self._turn % len(self.headers)]

    async def _post(self, kind: str, path: str, body: Any, scheduled_ns: int,
                    headers: Mapping[str, str]) -> Outcome:
        sent = time.time_ns()
        try:
            status, raw = await self.client.request("POST", path, json_body=body,
                                                    headers=headers)
        except TransportError as exc:
            outcome = Outcome(kind, 0, scheduled_ns, sent, time.time_ns(), error=str(exc))
        else:
            done = time.time_ns()
            parsed: Any = None
            if 200 <= status < 300:
                try:
                    parsed = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    parsed = None
            outcome = Outcome(kind, status, scheduled_ns, sent, done, parsed)
        self.stats.record(outcome)
        return outcome

    async def one(self, plan: PlannedCall, scheduled_ns: int) -> None:
        """Post one planned call, then its disposition when it is a prank or ghost."""
        self.stats.sent += 1
        self.stats.in_flight += 1
        try:
            headers = self._headers()
            outcome = await self._post("call", self.path, plan.payload, scheduled_ns, headers)
            if self.on_outcome is not None:
                self.on_outcome(plan, outcome)
            if (self.close_pranks and plan.disposition and outcome.status == 201
                    and isinstance(outcome.body, dict) and "id" in outcome.body):
                body = disposition_body(self.rng, plan.disposition)
                closed = await self._post("disposition",
                                          f"{self.path}/{outcome.body['id']}/disposition",
                                          body, time.time_ns(), headers)
                if self.on_outcome is not None:
                    self.on_outcome(plan, closed)
        finally:
            self.stats.in_flight -= 1

    async def open_loop(
        self, plans: Iterator[PlannedCall], *, rate: float, duration_s: float,
        max_in_flight: int = 64, give_up_after_s: float | None = None,
    ) -> DriveStats:
        """Send `rate × duration_s` calls at scheduled times (open loop). When
        `max_in_flight` requests are out, the next send waits (and is late: that shows in
        the from-schedule latency). Sending stops `give_up_after_s` after the start (the
        rest counts as unsent); then waits for the requests out."""
        if rate <= 0 or duration_s <= 0:
            raise ValueError("rate and duration must be positive")
        total = max(1, round(rate * duration_s))
        stats = self.stats
        stats.scheduled += total
        stats.started = time.monotonic()
        slots = asyncio.Semaphore(max_in_flight)
        tasks: set[asyncio.Task[None]] = set()
        start_perf = time.perf_counter() + 0.01
        start_ns = time.time_ns() + 10_000_000
        deadline = None if give_up_after_s is None else start_perf + give_up_after_s

        def finished(task: asyncio.Task[None]) -> None:
            tasks.discard(task)
            slots.release()

        for i in range(total):
            offset = i / rate
            delay = start_perf + offset - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await slots.acquire()
            if deadline is not None and time.perf_counter() > deadline:
                slots.release()
                stats.unsent += total - i
                break
            task = asyncio.create_task(self.one(next(plans), start_ns + int(offset * 1e9)))
            tasks.add(task)
            task.add_done_callback(finished)
        stats.sending_ended = time.monotonic()
        if tasks:
            await asyncio.wait(set(tasks), timeout=self.client.timeout_s * 2 + 5)
        stats.ended = time.monotonic()
        return stats

    async def closed_loop(
        self, plans: Iterator[PlannedCall], *, concurrency: int, duration_s: float,
    ) -> DriveStats:
        """`concurrency` workers each posting the next call as soon as the previous one was
        answered, for `duration_s`: the throughput at saturation."""
        stats = self.stats
        stats.started = time.monotonic()
        stop = time.perf_counter() + duration_s

        async def worker() -> None:
            while time.perf_counter() < stop:
                stats.scheduled += 1
                await self.one(next(plans), time.time_ns())

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        stats.sending_ended = stats.ended = time.monotonic()
        return stats

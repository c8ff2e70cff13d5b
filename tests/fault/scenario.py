"""What the database fault tests (test_database_restart, test_failover) share: operators
posting calls at a steady rate while /readyz is polled (`Load`), three supervisors on the
feed around the fault (`Subscribers`), and the checks every such fault must pass, collected
(`Checks`) so that one failure report lists them all.

A test reads:

    async with Subscribers(feed_url, since) as feeds:
        async with Load(base_url, operator, numbers, clients=…, …) as load:
            await asyncio.sleep(BEFORE_S)
            await feeds.leave_before()
            …the fault, and the recovery…
        await feeds.settle(dsn, load.created_incidents())
    check = Checks()
    check.answers(load, …); check.unavailable(*load.between(…), …); check.feeds(feeds, …)
    check(…test's own…); check.done(summary)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import asyncpg
import httpx
import websockets

from tests.fault.conftest import is_log_prefix
from tests.support import login

REQUEST_TIMEOUT_S = 8.0  # a request still unanswered by then counts as a hang
FEED_WAIT_S = 20.0
MENTIKAN = {"lat": -7.47, "lon": 112.43}


async def demo_tokens(base_url: str) -> tuple[dict[str, str], str]:
    """(the demo operator's Authorization header, the demo supervisor's bare token)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as api:
        operator = await login(api, "operator")
        supervisor = await login(api, "supervisor")
    return operator, supervisor["Authorization"].removeprefix("Bearer ")


async def log_seqs(dsn: str, since: int) -> list[int]:
    """The seq of every feed event (payload not null) of the `events` log after `since`."""
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        rows = await conn.fetch(
            "SELECT seq FROM events WHERE seq > $1 AND payload IS NOT NULL ORDER BY seq", since)
        return [r["seq"] for r in rows]
    finally:
        await conn.close()


async def last_seq(dsn: str) -> int:
    """The log's last feed event (0 if none)."""
    return (await log_seqs(dsn, 0) or [0])[-1]


@dataclass
class Outcome:
    """One request: when it started and was answered (monotonic), and the answer."""

    started: float
    finished: float = 0.0
    status: int | None = None
    content_type: str = ""
    retry_after: str | None = None
    body: dict | None = None
    error: str | None = None
    caller_number: str | None = None  # a call's


async def _send(client: httpx.AsyncClient, outcome: Outcome, method: str, path: str,
                **kwargs: Any) -> None:
    try:
        response = await client.request(method, path, **kwargs)
        outcome.status = response.status_code
        outcome.content_type = response.headers.get("content-type", "")
        outcome.retry_after = response.headers.get("retry-after")
        with contextlib.suppress(ValueError):
            outcome.body = response.json()
    except httpx.HTTPError as exc:
        outcome.error = f"{type(exc).__name__}: {exc}"
    outcome.finished = time.monotonic()


async def _steady(base_url: str, stop: asyncio.Event, interval: float,
                  make: Callable[[httpx.AsyncClient], Awaitable[None]]) -> None:
    """`make` a request every `interval` s (back to back if one takes longer) until `stop`."""
    async with httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as client:
        next_at = time.monotonic()
        while not stop.is_set():
            await make(client)
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
            else:
                next_at = time.monotonic()


class Load:
    """`clients` operator consoles each posting a "crime" call every `interval` s, and one
    /readyz poll every `ready_interval` s, each request bounded by REQUEST_TIMEOUT_S, from
    entering the block until leaving it (then stopped, bounded). Every request's `Outcome`
    is kept, in `calls` and `ready`."""

    def __init__(self, base_url: str, operator: dict[str, str], numbers: Iterator[str], *,
                 clients: int, interval: float, ready_interval: float) -> None:
        self.base_url, self.operator, self.numbers = base_url, operator, numbers
        self.clients, self.interval, self.ready_interval = clients, interval, ready_interval
        self.calls: list[Outcome] = []
        self.ready: list[Outcome] = []
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def _post_call(self, client: httpx.AsyncClient) -> None:
        outcome = Outcome(time.monotonic(), caller_number=next(self.numbers))
        self.calls.append(outcome)
        await _send(client, outcome, "POST", "/v1/calls", headers=self.operator, json={
            "caller_number": outcome.caller_number, "category": "crime", "location": MENTIKAN})

    async def _poll_ready(self, client: httpx.AsyncClient) -> None:
        outcome = Outcome(time.monotonic())
        self.ready.append(outcome)
        await _send(client, outcome, "GET", "/readyz")

    async def __aenter__(self) -> Load:
        self._tasks = [
            asyncio.create_task(_steady(self.base_url, self._stop, self.interval,
                                        self._post_call))
            for _ in range(self.clients)]
        self._tasks.append(asyncio.create_task(
            _steady(self.base_url, self._stop, self.ready_interval, self._poll_ready)))
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        async with asyncio.timeout(REQUEST_TIMEOUT_S + 5):
            await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def created(self) -> list[dict]:
        """The body of every call answered 201."""
        return [o.body for o in self.calls if o.status == 201 and o.body]

    def created_incidents(self) -> set[str]:
        """The incident id of every call answered 201."""
        return {body["incident"]["id"] for body in self.created}

    def tally(self, on_503: str = "") -> str:
        """How the calls were answered, for a summary (`on_503` said of the 503s)."""
        others = sum(1 for o in self.calls if o.status not in (201, 503))
        return (f"calls {len(self.calls)} (201: {len(self.created)}, 503: "
                f"{len(self.unavailable)}{on_503}, other: {others})")

    @property
    def unavailable(self) -> list[Outcome]:
        """The calls answered 503."""
        return [o for o in self.calls if o.status == 503]

    @property
    def slowest(self) -> float:
        """The longest any request (call or /readyz) took, in s."""
        return max(o.finished - o.started for o in self.calls + self.ready)

    def between(self, start: float, end: float) -> tuple[list[Outcome], list[Outcome]]:
        """(calls, /readyz polls) started at or after `start` and answered by `end`."""
        return ([o for o in self.calls if start <= o.started and o.finished <= end],
                [o for o in self.ready if start <= o.started and o.finished <= end])


def first_answered(outcomes: list[Outcome], status: int, started_from: float) -> float:
    """When the first of `outcomes` started at or after `started_from` was answered `status`
    (inf if none was)."""
    return min((o.finished for o in outcomes if o.status == status and o.started >= started_from),
               default=float("inf"))


async def not_stored(conn: asyncpg.Connection, created: list[dict]) -> set[uuid.UUID]:
    """The ids of the calls answered 201 (their bodies, `created`) not in `calls`."""
    ids = {uuid.UUID(c["id"]) for c in created}
    stored = {r["id"] for r in await conn.fetch(
        "SELECT id FROM calls WHERE id = ANY($1::uuid[])", list(ids))}
    return ids - stored


async def _read_feed(ws: websockets.ClientConnection, frames: list[dict]) -> None:
    async for text in ws:
        frames.append(json.loads(text))


class Subscribers:
    """Three supervisor subscribers of the feed (`feed_url`, with its token), all from seq
    `since`: `across` stays connected through the fault; `before` leaves just before it
    (`leave_before()`, remembering its last seq as `resume_from`); `after` reconnects with
    since=`resume_from` once it is over (`settle()`). Each list holds the frames received."""

    def __init__(self, feed_url: str, since: int) -> None:
        self.feed_url, self.since = feed_url, since
        self.across: list[dict] = []
        self.before: list[dict] = []
        self.after: list[dict] = []
        self.resume_from = since
        self.expected: set[str] = set()  # incidents of 201 calls: settle()'s argument
        self.through = since  # the log's last feed event when settle() began waiting
        self.log: list[int] = []  # the log's feed events after `since`, once settled
        self.still_open = False  # was `across` still connected when settled
        self._stack = contextlib.AsyncExitStack()

    async def _subscribe(self, since: int, frames: list[dict]
                         ) -> tuple[websockets.ClientConnection, asyncio.Task[None]]:
        ws = await self._stack.enter_async_context(websockets.connect(
            f"{self.feed_url}&since={since}", open_timeout=10, close_timeout=2))
        reader = asyncio.create_task(_read_feed(ws, frames))
        self._stack.push_async_callback(_cancel, reader)
        return ws, reader

    async def __aenter__(self) -> Subscribers:
        try:
            _, self._across = await self._subscribe(self.since, self.across)
            self._before = await self._subscribe(self.since, self.before)
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self._stack.aclose()

    async def leave_before(self) -> None:
        """`before` disconnects, remembering the last seq it received as `resume_from`."""
        ws, reader = self._before
        await ws.close()
        await _cancel(reader)
        self.resume_from = self.before[-1]["seq"] if self.before else self.since

    def seen_incidents(self) -> set[str]:
        """The incidents whose assignment.created reached `across`."""
        return {f["incident"]["id"] for f in self.across if f["type"] == "assignment.created"}

    def _caught_up(self) -> bool:
        return (self.expected <= self.seen_incidents()
                and is_log_prefix(_seqs(self.across), self.log, after=self.since,
                                  through=self.through)
                and is_log_prefix(_seqs(self.after), self.log, after=self.resume_from,
                                  through=self.through))

    async def settle(self, dsn: str, expected: set[str]) -> None:
        """Once the fault is over: `after` reconnects with since=`resume_from`; then wait,
        at most FEED_WAIT_S, until `across` has the assignment.created of every incident in
        `expected` and `across` and `after` each match the log of `dsn` at least up to
        `through` (its last feed event now). Then both disconnect and `log` is read again,
        final, for the checks (`Checks.feeds`)."""
        self.expected = expected
        after_ws, after = await self._subscribe(self.resume_from, self.after)
        self.through = (await log_seqs(dsn, self.since) or [self.since])[-1]
        deadline = time.monotonic() + FEED_WAIT_S
        while time.monotonic() < deadline:
            self.log = await log_seqs(dsn, self.since)
            if self._caught_up():
                break
            await asyncio.sleep(0.2)
        self.still_open = not self._across.done()
        for reader in (after, self._across):
            await _cancel(reader)
        await after_ws.close()
        self.log = await log_seqs(dsn, self.since)


async def _cancel(reader: asyncio.Task[None]) -> None:
    reader.cancel()
    with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
        await reader


def _seqs(frames: list[dict]) -> list[int]:
    return [f["seq"] for f in frames]


class Checks:
    """`check(ok, what)` notes each failed check, as do the groups of checks every database
    fault must pass (`answers`, `unavailable`, `feeds`); `done(summary)` asserts that none
    failed, listing them all after the summary."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def __call__(self, ok: bool, what: str) -> None:
        if not ok:
            self.problems.append(what)

    def done(self, summary: str) -> None:
        assert not self.problems, "\n".join([summary, *self.problems])

    def answers(self, load: Load, *, fault_at: float, fault: str,
                server_note: str = "") -> None:
        """No hang, no transport error, no 500: every call answered 201 or 503, every 503 a
        problem+json with Retry-After. `fault_at` (when `fault` happened) dates the odd
        answers in the message; `server_note` ends it."""
        errors = [o.error for o in load.calls + load.ready if o.error]
        self(not errors, f"transport errors or time-outs: {errors[:3]}")
        others = [(round(o.started - fault_at, 2), o.status, o.body) for o in load.calls
                  if o.status not in (201, 503)]
        self(not others, f"{len(others)} calls answered neither 201 nor 503 (s after {fault},"
                         f" status, body): {others[:3]}{server_note}")
        self(all(o.content_type == "application/problem+json" and o.retry_after is not None
                 and o.body is not None and o.body.get("status") == 503
                 for o in load.unavailable),
             "a 503 without problem+json or Retry-After")
        self(load.slowest < REQUEST_TIMEOUT_S, f"a request took {load.slowest:.1f}s")

    def unavailable(self, calls: list[Outcome], ready: list[Outcome], *, when: str,
                    ready_database: str | None = None) -> None:
        """While the database could not be written (`when`): at least 10 `calls`, all 503,
        and at least one /readyz poll, all 503 (saying `database`: `ready_database`, if
        given)."""
        self(len(calls) >= 10 and all(o.status == 503 for o in calls),
             f"{when}: {len(calls)} calls, not 503: "
             f"{[(o.status, o.body) for o in calls if o.status != 503][:3]}")
        self(bool(ready) and all(
            o.status == 503 and (ready_database is None
                                 or (o.body and o.body.get("database") == ready_database))
            for o in ready), f"/readyz did not say 503 {ready_database or '(any body)'} {when}")

    def feeds(self, feeds: Subscribers, *, fault: str) -> None:
        """After `feeds.settle()`: `across` stayed connected, and it and `after` got exactly
        the log's feed events (no gap, no duplicate, increasing seq), `before` exactly those
        up to where it left, and `across` every 201 call's assignment.created."""
        log, since, through = feeds.log, feeds.since, feeds.through
        across = _seqs(feeds.across)
        self(feeds.still_open, f"the subscriber connected across {fault} was disconnected")
        self(is_log_prefix(across, log, after=since, through=through),
             f"feed across {fault} != log: {len(across)} frames, {len(log)} events; missing "
             f"{sorted(set(log) - set(across))[:5]}; not in the log "
             f"{sorted(set(across) - set(log))[:5]}")
        missing = feeds.expected - feeds.seen_incidents()
        self(not missing, f"201 incidents missing on the feed: {sorted(missing)[:3]}")
        self(_seqs(feeds.before) == [s for s in log if s <= feeds.resume_from],
             f"the subscriber that left before {fault} missed, repeated or invented events")
        self(is_log_prefix(_seqs(feeds.after), log, after=feeds.resume_from, through=through),
             "reconnecting with since=<last seq> did not give exactly the missed events")

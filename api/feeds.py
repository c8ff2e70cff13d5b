"""Live WebSocket feeds: `/v1/agencies/{code}/feed` and `/v1/feed` (supervisors).

Replay `seq > since` from storage, then live from the process's feed hub, each event once
and in increasing seq (duplicates between replay and live are dropped by seq). A client
that cannot keep up is closed with 4008 and reconnects with `since`; it loses nothing."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from api.deps import actor_for, unit_of_work
from api.sockets import (
    CLOSE_FORBIDDEN,
    CLOSE_NOT_FOUND,
    CLOSE_TOO_SLOW,
    CLOSE_UNAUTHORIZED,
    authenticate,
    refuse,
    serve_admitted,
)
from dispatch.accounts.tokens import Principal
from dispatch.assignments.actions import change_assignment_status
from dispatch.core.errors import DomainError
from dispatch.core.feed_hub import FeedEvent, FeedHub, Subscriber, read_final_events

router = APIRouter(tags=["feeds"])

REVOCATION_CHECK_S = 1.0


@router.websocket("/v1/agencies/{code}/feed")
async def agency_feed(
    websocket: WebSocket, code: str, since: int | None = None, token: str | None = None
) -> None:
    principal = await authenticate(websocket, token)
    if principal is None:
        return
    allowed = principal.role == "supervisor" or (
        principal.role == "agency" and principal.agency_code == code
    )
    if not allowed:
        await refuse(websocket, CLOSE_FORBIDDEN, "this token may not read that feed")
        return
    async with unit_of_work(websocket) as session:
        directory = await websocket.app.state.agency_cache.get(session)
    if code not in directory.ids:
        await refuse(websocket, CLOSE_NOT_FOUND, f"no agency with code {code}")
        return
    await _serve(websocket, principal, code, since)


@router.websocket("/v1/feed")
async def all_events_feed(
    websocket: WebSocket, since: int | None = None, token: str | None = None
) -> None:
    principal = await authenticate(websocket, token)
    if principal is None:
        return
    if principal.role != "supervisor":
        await refuse(websocket, CLOSE_FORBIDDEN, "only supervisors read every event")
        return
    await _serve(websocket, principal, None, since)


class _Connection:
    """One feed connection: a sender (replay, then live) and a receiver (acks)."""

    def __init__(self, websocket: WebSocket, principal: Principal, agency_code: str | None):
        self.websocket = websocket
        self.principal = principal
        self.agency_code = agency_code
        self.last_sent = 0
        self._send_lock = asyncio.Lock()

    async def send_text(self, text: str) -> None:
        async with self._send_lock:
            await self.websocket.send_text(text)

    async def send_event(self, event: FeedEvent) -> None:
        if event.seq > self.last_sent:
            await self.send_text(event.frame)
            self.last_sent = event.seq

    async def replay(self, since: int, until: int) -> None:
        engine = self.websocket.app.state.engine
        async with engine.connect() as connection:
            raw = (await connection.get_raw_connection()).driver_connection
            position = since
            while position < until:
                events = await read_final_events(raw, position, until, self.agency_code)
                if not events:
                    break
                for event in events:
                    await self.send_event(event)
                position = events[-1].seq

    async def live(self, subscriber: Subscriber) -> None:
        """Send queued events until the queue overflows; then close with 4008. (The hub
        stops filling a queue once it overflowed, so a full queue is what wakes us.)"""
        while not subscriber.overflowed.is_set():
            event = await subscriber.queue.get()
            if subscriber.revoked.is_set():
                return  # the watcher closes with 4401
            if event is not None:
                await self.send_event(event)
        await self.websocket.close(
            CLOSE_TOO_SLOW, f"too slow: reconnect with since={self.last_sent}"
        )

    async def watch_revocation(self, subscriber: Subscriber) -> None:
        """Close with 4401 once the token is revoked (at once when the hub reads the
        revoking event, or within a second from this process's account memory) or has
        expired: a socket lives no longer than the token it was opened with."""
        guard = self.websocket.app.state.session_guard
        while (guard.still_valid(self.principal) and not subscriber.revoked.is_set()
               and time.time() < self.principal.expires_at):
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(REVOCATION_CHECK_S):
                    await subscriber.revoked.wait()
        expired = time.time() >= self.principal.expires_at
        subscriber.revoke()
        async with self._send_lock:
            await self.websocket.close(
                CLOSE_UNAUTHORIZED, "the token has expired: log in again" if expired
                else "the token has been revoked")

    async def receive(self) -> None:
        async for text in self.websocket.iter_text():
            await self.send_text(orjson.dumps(await self._handle(text)).decode())

    async def _handle(self, text: str) -> dict[str, Any]:
        try:
            message = orjson.loads(text)
            assignment_id = uuid.UUID(str(message["ack"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return _problem(422, 'frames must be {"ack": "<assignment_id>"}')
        if self.principal.role not in ("agency", "supervisor"):
            return _problem(403, "this role may not acknowledge")
        try:
            await self.websocket.app.state.session_guard.check(self.principal)
        except DomainError as exc:
            return _problem(exc.status, exc.detail)
        scope = self.principal.agency_code if self.principal.role == "agency" else None
        try:
            async with unit_of_work(self.websocket) as session:
                actor = await actor_for(self.websocket, self.principal, session)
                await change_assignment_status(session, assignment_id, "acknowledged", actor,
                                               agency_code=scope)
        except DomainError as exc:
            return _problem(exc.status, exc.detail, **exc.extra)
        return {"type": "ack.ok", "assignment_id": str(assignment_id)}


def _problem(status: int, detail: str, **extra: Any) -> dict[str, Any]:
    return {"type": "about:blank", "title": "Acknowledgement refused", "status": status,
            "detail": detail, **extra}


async def _serve(
    websocket: WebSocket, principal: Principal, agency_code: str | None, since: int | None
) -> None:
    async def serve(hub: FeedHub) -> None:
        await _feed(websocket, hub, principal, agency_code, since)

    await serve_admitted(websocket, principal, serve)


async def _feed(websocket: WebSocket, hub: FeedHub, principal: Principal,
                agency_code: str | None, since: int | None) -> None:
    connection = _Connection(websocket, principal, agency_code)
    subscriber, cursor = hub.subscribe(agency_code, user_id=principal.user_id,
                                       generation=principal.generation)
    connection.last_sent = cursor if since is None else max(since, 0)

    async def send() -> None:
        if since is not None and since < cursor:
            await connection.replay(since, cursor)
        await connection.live(subscriber)

    tasks = [asyncio.create_task(send()), asyncio.create_task(connection.receive()),
             asyncio.create_task(connection.watch_revocation(subscriber))]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hub.unsubscribe(subscriber)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task
        if websocket.client_state == WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError):
                if subscriber.revoked.is_set():
                    await websocket.close(CLOSE_UNAUTHORIZED, "the token has been revoked")
                else:
                    await websocket.close()

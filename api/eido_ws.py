"""`WS /v1/eido/subscribe`: NENA-STA-024 subscribe/notify of EIDOs for partner CADs.

The protocol (messages, negotiation, the subscriptions of record) is
dispatch/interop/sta024.py; this module is the socket: authentication as for the feeds
(token in `?token=` or the Authorization header, checked against revocation), the same
per-account socket allowance (4429), the process's feed hub as the source of changes
(an agency sees only incidents assigned to it, a supervisor all), heartbeats, expiry and
revocation (`terminate`, then close 4401). One socket may hold several subscriptions."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from api.deps import agency_scope, unit_of_work
from api.sockets import (
    CLOSE_FORBIDDEN,
    CLOSE_TOO_SLOW,
    CLOSE_UNAUTHORIZED,
    authenticate,
    refuse,
    serve_admitted,
)
from dispatch.accounts.tokens import Principal
from dispatch.core.errors import DomainError, NotFound
from dispatch.core.feed_hub import FeedEvent, FeedHub, Subscriber, read_final_events
from dispatch.incidents.reads import visible_incident
from dispatch.interop import sta024
from dispatch.interop.eido import build_eido

router = APIRouter(tags=["interoperability"])
TICK_S = 0.25
MAX_UNACKNOWLEDGED = 1000
ACK_GRACE_S = 60.0


@dataclass
class _Active:
    id: uuid.UUID
    kind: str
    incident_id: uuid.UUID | None
    min_rate_s: int
    expires_at: datetime
    last_seq: int
    last_sent: float
    # Sent and not acknowledged yet (transaction → when sent); past MAX_UNACKNOWLEDGED,
    # the oldest unanswered for ACK_GRACE_S, the subscription is terminated (a partner
    # that never answers would otherwise pile up rows forever). Not while catching up:
    # acknowledgements are read only after it.
    unacknowledged: dict[uuid.UUID, float] = field(default_factory=dict)
    catching_up: bool = False
    ended: bool = False


@router.websocket("/v1/eido/subscribe")
async def subscribe_eido(websocket: WebSocket, token: str | None = None) -> None:
    principal = await authenticate(websocket, token)
    if principal is None:
        return
    if principal.role not in ("supervisor", "agency"):
        await refuse(websocket, CLOSE_FORBIDDEN, "only agencies and supervisors subscribe")
        return

    async def serve(hub: FeedHub) -> None:
        await _Notifier(websocket, principal, hub, principal.expires_at).run()

    await serve_admitted(websocket, principal, serve)


class _Notifier:
    """One socket: its subscriptions, fed from one hub subscriber."""

    def __init__(self, websocket: WebSocket, principal: Principal, hub: FeedHub,
                 token_expires: float) -> None:
        self.websocket = websocket
        self.principal = principal
        self.hub = hub
        self.token_expires = token_expires
        self.scope = agency_scope(principal)
        self.user_id = uuid.UUID(principal.user_id)
        self.subscriptions: dict[uuid.UUID, _Active] = {}
        self.position = 0
        self.lock = asyncio.Lock()
        self.region = websocket.app.state.settings.region_prefix

    async def send(self, message: dict[str, Any]) -> None:
        await self.websocket.send_text(orjson.dumps(message).decode())

    async def run(self) -> None:
        subscriber, self.position = self.hub.subscribe(
            self.scope, user_id=self.principal.user_id, generation=self.principal.generation)
        tasks = [asyncio.create_task(self.pump(subscriber)),
                 asyncio.create_task(self.receive()),
                 asyncio.create_task(self.watch(subscriber))]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.hub.unsubscribe(subscriber)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect,
                                         RuntimeError):
                    await task
            await self._save_positions()
            if self.websocket.client_state == WebSocketState.CONNECTED:
                with contextlib.suppress(RuntimeError):
                    await self.websocket.close()

    # --- changes of incidents ------------------------------------------------------------

    async def pump(self, subscriber: Subscriber) -> None:
        while not subscriber.overflowed.is_set():
            item = await subscriber.queue.get()
            if subscriber.revoked.is_set():
                continue  # nothing more comes: the watcher terminates and closes
            if item is not None:
                async with self.lock:
                    await self._deliver(item, list(self.subscriptions.values()))
                    self.position = max(self.position, item.seq)
                    for active in self.subscriptions.values():
                        active.last_seq = max(active.last_seq, item.seq)
        async with self.lock:
            await self.websocket.close(
                CLOSE_TOO_SLOW, "too slow: reconnect and subscribe with your subscriptionId")

    async def _deliver(self, item: FeedEvent, targets: list[_Active]) -> None:
        """Send one change to the subscriptions it concerns (each at most once)."""
        incident_id = sta024.incident_of(item.frame)
        due = [s for s in targets if item.seq > s.last_seq]
        if incident_id is None or not due:
            return
        for active in due:
            if active.kind == "single" and active.incident_id != incident_id:
                continue
            await self._notify(active, incident_id, item.seq, uuid.uuid4())

    async def _notify(self, active: _Active, incident_id: uuid.UUID, seq: int,
                      transaction_id: uuid.UUID, *, record: bool = True) -> None:
        async with unit_of_work(self.websocket) as session:
            try:
                incident = await visible_incident(session, incident_id, only_agency=self.scope)
            except NotFound:  # no longer this account's to see (an unmerge moved it away)
                if not record:  # a pending one: forget it, or it comes back on every resume
                    await sta024.acknowledge(session, transaction_id, [active.id])
                return
            document = (await build_eido(session, incident, region_prefix=self.region,
                                         include_callers=self.scope is None)).document()
            if record:
                await sta024.record_sent(session, active.id, transaction_id, seq, incident_id)
        active.last_seq = max(active.last_seq, seq)
        active.last_sent = time.monotonic()
        active.unacknowledged[transaction_id] = time.monotonic()
        await self.send(sta024.event(active.id, transaction_id, [document]))
        if (not active.catching_up and len(active.unacknowledged) > MAX_UNACKNOWLEDGED
                and time.monotonic() - min(active.unacknowledged.values()) > ACK_GRACE_S):
            await self._end(active)

    async def _catch_up(self, active: _Active) -> bool:
        """Unacknowledged notifications again, then the changes missed since last_seq:
        one notification per incident and batch (each carries the incident as it is now).
        The log is read a batch at a time, its connection given back before notifying
        (each notification takes one of its own). False when the subscription ended."""
        active.catching_up = True
        try:
            async with unit_of_work(self.websocket) as session:
                pending = await sta024.pending_events(session, active.id)
            for row in pending:
                await self._notify(active, row.incident_id, row.seq, row.transaction_id,
                                   record=False)
            engine = self.websocket.app.state.engine
            position = active.last_seq
            while position < self.position and not active.ended:
                async with engine.connect() as connection:
                    raw = (await connection.get_raw_connection()).driver_connection
                    events = await read_final_events(raw, position, self.position,
                                                     self.scope)
                if not events:
                    break
                newest: dict[uuid.UUID | None, FeedEvent] = {
                    sta024.incident_of(item.frame): item for item in events}
                for item in sorted(newest.values(), key=lambda event: event.seq):
                    await self._deliver(item, [active])
                position = events[-1].seq
            active.last_seq = max(active.last_seq, self.position)
        finally:
            active.catching_up = False
        return not active.ended

    # --- messages from the subscriber ------------------------------------------------------

    async def receive(self) -> None:
        async for text in self.websocket.iter_text():
            try:
                kind, body = sta024.parse(text)
                async with self.lock:
                    await self._handle(kind, body)
            except sta024.ProtocolError as exc:
                await self.send(sta024.subscribe_response(exc.request_id, exc.status,
                                                          exc.detail))

    async def _handle(self, kind: str, body: dict[str, Any]) -> None:
        if kind == "subscribe":
            await self._subscribe(sta024.parse_subscribe(body))
        elif kind == "unsubscribe":
            await self._unsubscribe(body)
        elif kind == "eventResponse":
            transaction = sta024.acknowledged(body)
            if transaction is not None and self.subscriptions:
                async with unit_of_work(self.websocket) as session:
                    await sta024.acknowledge(session, transaction, list(self.subscriptions))
                for active in self.subscriptions.values():
                    active.unacknowledged.pop(transaction, None)
        elif kind != "terminateResponse":
            await self.send(sta024.not_implemented(str(body.get("requestId", ""))))

    async def _subscribe(self, request: sta024.Subscribe) -> None:
        if request.subscription_id is not None:
            await self._resume(request)
            return
        rate, expires = sta024.negotiate(request.min_rate_s, request.expires_s,
                                         self.token_expires - time.time())
        async with unit_of_work(self.websocket) as session:
            if request.incident_id is not None:
                try:
                    await visible_incident(session, request.incident_id,
                                           only_agency=self.scope)
                except NotFound:
                    raise sta024.ProtocolError(sta024.NOT_FOUND, "no such incident",
                                               request.request_id) from None
            subscription = await sta024.create_subscription(
                session, user_id=self.user_id, kind=request.sub_type,
                incident_id=request.incident_id, min_rate_s=rate, expires_s=expires,
                last_seq=self.position)
            response = sta024.subscribe_response(request.request_id, sta024.OK,
                                                 subscription=subscription)
        active = _Active(subscription.id, subscription.kind, subscription.incident_id,
                         rate, subscription.expires_at, self.position, time.monotonic())
        await self.send(response)
        self.subscriptions[active.id] = active
        if active.incident_id is not None:  # a single subscription starts with the state
            await self._notify(active, active.incident_id, self.position, uuid.uuid4())

    async def _resume(self, request: sta024.Subscribe) -> None:
        assert request.subscription_id is not None
        if request.subscription_id in self.subscriptions:
            raise sta024.ProtocolError(sta024.BAD_REQUEST, "already subscribed here",
                                       request.request_id)
        async with unit_of_work(self.websocket) as session:
            subscription = await sta024.find_subscription(session, request.subscription_id,
                                                          self.user_id)
            if subscription is None:
                raise sta024.ProtocolError(sta024.NO_SUBSCRIPTION,
                                           "no such subscription (or it ended)",
                                           request.request_id)
            response = sta024.subscribe_response(request.request_id, sta024.OK,
                                                 subscription=subscription)
        active = _Active(subscription.id, subscription.kind, subscription.incident_id,
                         subscription.min_rate_s, subscription.expires_at,
                         subscription.last_seq, time.monotonic())
        await self.send(response)
        if await self._catch_up(active):
            self.subscriptions[active.id] = active

    async def _unsubscribe(self, body: dict[str, Any]) -> None:
        request_id = str(body["requestId"])
        raw_id = body.get("subscriptionId")
        try:
            subscription_id = uuid.UUID(str(raw_id))
        except ValueError:
            subscription_id = None
        if subscription_id is None or subscription_id not in self.subscriptions:
            await self.send(sta024.unsubscribe_response(request_id, str(raw_id),
                                                        sta024.NO_SUBSCRIPTION))
            return
        del self.subscriptions[subscription_id]
        async with unit_of_work(self.websocket) as session:
            await sta024.end_subscription(session, subscription_id)
        await self.send(sta024.unsubscribe_response(request_id, str(subscription_id),
                                                    sta024.OK))

    # --- time: heartbeats, expiry, revocation ----------------------------------------------

    async def watch(self, subscriber: Subscriber) -> None:
        guard = self.websocket.app.state.session_guard
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(TICK_S):
                    await subscriber.revoked.wait()
            if (subscriber.revoked.is_set() or not guard.still_valid(self.principal)
                    or time.time() >= self.token_expires):
                subscriber.revoke()
                async with self.lock:
                    await self._terminate_all()
                    await self.websocket.close(CLOSE_UNAUTHORIZED,
                                               "the token has been revoked or has expired")
                return
            async with self.lock:
                await self._tick()

    async def _tick(self) -> None:
        now, clock = datetime.now(UTC), time.monotonic()
        for active in list(self.subscriptions.values()):
            if active.expires_at <= now:
                await self._end(active)
            elif clock - active.last_sent >= active.min_rate_s:
                active.last_sent = clock
                await self.send(sta024.event(active.id, uuid.uuid4(), []))
                async with unit_of_work(self.websocket) as session:
                    await sta024.advance(session, active.id, active.last_seq)

    async def _end(self, active: _Active) -> None:
        active.ended = True
        self.subscriptions.pop(active.id, None)
        async with unit_of_work(self.websocket) as session:
            await sta024.end_subscription(session, active.id)
        await self.send(sta024.terminate(active.id))

    async def _terminate_all(self) -> None:
        for active in list(self.subscriptions.values()):
            await self._end(active)

    async def _save_positions(self) -> None:
        """How far each subscription was served, for its resumption (best effort: a
        lost write means some changes are sent again, never that one is lost)."""
        if not self.subscriptions:
            return
        with contextlib.suppress(DomainError, OSError):
            async with unit_of_work(self.websocket) as session:
                for active in self.subscriptions.values():
                    await sta024.advance(session, active.id, active.last_seq)

"""What every WebSocket of the API does around its own protocol (the feeds, STA-024): the
bearer token (`?token=` or the Authorization header) checked against revocation, the
process's feed hub ready, and a place in the account's allowance of open sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import WebSocket
from starlette.websockets import WebSocketState

from dispatch.accounts.sockets import OpenSockets, TooManySockets
from dispatch.accounts.tokens import Principal, read_token
from dispatch.core.errors import DomainError, Unauthorized, Unavailable
from dispatch.core.feed_hub import FeedHub

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_SLOW = 4008
CLOSE_UNAVAILABLE = 1013  # try again later: the socket could not start
CLOSE_TOO_MANY = 4429  # the account holds its allowance of open sockets
HUB_READY_S = 10.0


def bearer_token(websocket: WebSocket, token: str | None) -> str | None:
    if token:
        return token
    header = websocket.headers.get("authorization", "")
    return header[7:] if header.lower().startswith("bearer ") else None


async def authenticate(websocket: WebSocket, token: str | None) -> Principal | None:
    """The caller, or None after closing the socket: 4401 for a missing, invalid or
    revoked token, 1013 when revocation cannot be checked now."""
    raw = bearer_token(websocket, token)
    try:
        if raw is None:
            raise Unauthorized("no token")
        principal = read_token(raw, secret_key=websocket.app.state.settings.signing_key)
        await websocket.app.state.session_guard.check(principal)
        return principal
    except Unavailable:
        await refuse(websocket, CLOSE_UNAVAILABLE, "accounts cannot be checked now; retry")
    except DomainError:
        await refuse(websocket, CLOSE_UNAUTHORIZED, "a valid token is needed")
    return None


async def refuse(websocket: WebSocket, code: int, reason: str) -> None:
    """Close with a code the client can read (a close before the handshake would not
    carry it)."""
    if websocket.client_state == WebSocketState.CONNECTING:
        await websocket.accept()
    await websocket.close(code, reason)


async def serve_admitted(
    websocket: WebSocket, principal: Principal, serve: Callable[[FeedHub], Awaitable[None]],
) -> None:
    """Accept, wait for the hub's first read, take a place among the account's open
    sockets (1013 / 4429 when there is none), run `serve`, give the place back."""
    if websocket.client_state == WebSocketState.CONNECTING:
        await websocket.accept()
    hub: FeedHub = websocket.app.state.feed_hub
    try:
        async with asyncio.timeout(HUB_READY_S):
            await hub.wait_ready()
    except TimeoutError:
        await websocket.close(CLOSE_UNAVAILABLE, "the feed is not available yet; retry")
        return
    sockets: OpenSockets = websocket.app.state.open_sockets
    try:
        socket_id = await sockets.open(principal.user_id, websocket.url.path)
    except TooManySockets as exc:
        await websocket.close(CLOSE_TOO_MANY, exc.detail)
        return
    except Unavailable:
        await websocket.close(CLOSE_UNAVAILABLE, "the feed is not available now; retry")
        return
    try:
        await serve(hub)
    finally:
        await sockets.close(socket_id)

"""Which tokens are still good: token generations, known to every process within a second.

A token carries its user's `token_generation` at issue (dispatch/accounts/tokens.py). A
revoking change (log-out, password change or reset, role or agency change, disabling)
adds one to it in the same transaction as its audit event, so every token issued before
is refused from then on.

Each process keeps every account's generation and state in memory (`SessionGuard`) and
asks the database every `refresh_s` for the accounts changed since: one indexed query
that finds nothing most of the time. A request is checked against that memory while it
is younger than `max_age_s`; older (the database was unreachable), the request waits for a
fresh read and is refused with 503 when none can be had: a revoked token never gets
through because the database was briefly away. Agency accounts are checked against the
database on every request, since what they may see depends on the agency: their role or
agency change holds from their very next request.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from dispatch.accounts.tokens import Principal
from dispatch.core.db import STORE_ERRORS
from dispatch.core.errors import Unauthorized, Unavailable

log = logging.getLogger("siaga112.sessions")
READ_TIMEOUT_S = 5.0  # a read that waits longer (no pool slot, no database) has failed

REVOKED = "the token has been revoked (log-out, password or account change): log in again"
_CHANGED_SINCE = text(
    "SELECT id, token_generation, active, revision FROM users WHERE revision > :after"
)
_ONE = text("SELECT id, token_generation, active, revision FROM users WHERE id = :id")
_TAKE_REVISION = text(
    "UPDATE account_revision SET value = value + 1 WHERE id = 1 RETURNING value"
)


@dataclass(frozen=True, slots=True)
class AccountState:
    generation: int
    active: bool
    revision: int


async def take_revision(session: AsyncSession) -> int:
    """The revision for an account change in this transaction. The row stays locked until
    commit, so account changes are serialised and commit in revision order (which the
    guards' `revision > n` reads rely on, and the last-admin rule too)."""
    return int((await session.execute(_TAKE_REVISION)).scalar_one())


class SessionGuard:
    """This process's view of every account's token generation."""

    def __init__(self, engine: AsyncEngine, *, refresh_s: float = 0.25,
                 max_age_s: float = 0.75) -> None:
        self._engine = engine
        self._refresh_s = refresh_s
        self._max_age_s = max_age_s
        self._accounts: dict[uuid.UUID, AccountState] = {}
        self._seen_revision = -1  # nothing read yet
        self._read_started = float("-inf")  # monotonic start of the last good read
        self._reading: asyncio.Task[None] | None = None
        self.reads = 0  # database reads of changes (for tests and metrics)

    async def check(self, principal: Principal) -> None:
        """Refuse (401) a token its account has revoked since, or of a disabled or
        removed account; 503 when this process cannot know in time."""
        user_id = uuid.UUID(principal.user_id)
        if principal.role == "agency":
            state = await self._read_one(user_id)
        else:
            if time.monotonic() - self._read_started > self._max_age_s:
                await self.refresh()
            state = self._accounts.get(user_id)
            if state is None or state.generation < principal.generation:
                # An account or token newer than this process's last read.
                state = await self._read_one(user_id)
        if not self.still_valid(principal, state):
            raise Unauthorized(REVOKED)

    def still_valid(self, principal: Principal, state: AccountState | None = None) -> bool:
        """From memory only, for open WebSockets: is the token still good?"""
        if state is None:
            state = self._accounts.get(uuid.UUID(principal.user_id))
        return (state is not None and state.active
                and state.generation == principal.generation)

    async def refresh(self) -> None:
        """Read the changes since the last read; concurrent callers share one read."""
        if self._reading is None or self._reading.done():
            self._reading = asyncio.create_task(self._read_changes())
        try:
            await asyncio.shield(self._reading)
        except STORE_ERRORS:
            raise Unavailable("the account store cannot be reached: retry",
                              retry_after_s=1) from None

    async def run(self) -> None:
        """Keep reading changes every `refresh_s` (a background task per process)."""
        while True:
            try:
                await self.refresh()
            except Unavailable:
                log.warning("account changes could not be read; requests wait for them")
            await asyncio.sleep(self._refresh_s)

    async def _read_changes(self) -> None:
        started = time.monotonic()
        async with asyncio.timeout(READ_TIMEOUT_S), self._engine.connect() as connection:
            rows = (await connection.execute(
                _CHANGED_SINCE, {"after": self._seen_revision})).all()
        for row in rows:
            self._remember(row.id, AccountState(row.token_generation, row.active,
                                                row.revision))
            self._seen_revision = max(self._seen_revision, row.revision)
        self._read_started = max(self._read_started, started)
        self.reads += 1

    async def _read_one(self, user_id: uuid.UUID) -> AccountState | None:
        try:
            async with self._engine.connect() as connection:
                row = (await connection.execute(_ONE, {"id": user_id})).one_or_none()
        except STORE_ERRORS as exc:
            raise Unavailable("the account store cannot be reached: retry",
                              retry_after_s=1) from exc
        if row is None:
            return None
        state = AccountState(row.token_generation, row.active, row.revision)
        self._remember(user_id, state)
        return self._accounts[user_id]

    def _remember(self, user_id: uuid.UUID, state: AccountState) -> None:
        known = self._accounts.get(user_id)
        if known is None or state.revision >= known.revision:
            self._accounts[user_id] = state

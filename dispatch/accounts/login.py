"""Logging in: the password check, the account lock after repeated failures (five in a
row, dispatch/accounts/tokens.py) and the throttle per source address, which stops one
machine guessing across many accounts. Both are kept in PostgreSQL, so they hold across
every process and host."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dispatch.accounts.tokens import authenticate, issue_token
from dispatch.core.db import transaction
from dispatch.core.errors import TooManyRequests, Unauthorized
from dispatch.core.ratelimits import SharedRateLimiter
from dispatch.core.settings import Settings

log = logging.getLogger("siaga112.auth")
FAILED_LOGIN_DELAY_S = 0.5  # slows guessing from one connection; the limits stop it


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int


def failed_login_limiter(engine: AsyncEngine, settings: Settings) -> SharedRateLimiter:
    """`login_failures_per_address` failures at once, then one more per
    `login_failure_window_s / login_failures_per_address` seconds."""
    failures = settings.login_failures_per_address
    return SharedRateLimiter(engine, rate_per_s=failures / settings.login_failure_window_s,
                             burst=failures, sync_interval_s=settings.rate_limit_sync_s)


async def log_in(
    sessions: async_sessionmaker[AsyncSession], settings: Settings,
    failures_by_address: SharedRateLimiter, *, username: str, password: str, address: str,
) -> IssuedToken:
    """A bearer token for a right password. A wrong one is counted against the account
    (committed, although the log-in fails) and against the source address; an address
    past its allowance gets 429 with the wait, whatever the password."""
    key = f"login-address:{address}"
    wait = await failures_by_address.blocked(key)
    if wait > 0:
        raise TooManyRequests("too many failed log-ins from this address: wait and retry",
                              retry_after_s=wait)
    failure: Unauthorized | None = None
    async with transaction(sessions) as session:
        try:
            user = await authenticate(session, username, password)
        except Unauthorized as exc:
            failure = exc
    if failure is not None:
        await failures_by_address.record(key)
        log.warning("failed log-in for %r from %s: %s", username[:64], address,
                    failure.detail)
        await asyncio.sleep(FAILED_LOGIN_DELAY_S)
        raise failure
    token = issue_token(user, secret_key=settings.signing_key, ttl_s=settings.token_ttl_s)
    return IssuedToken(access_token=token, expires_in=settings.token_ttl_s)


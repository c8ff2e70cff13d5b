"""Logging in: the password check, the account lock after repeated failures (five in a
row, dispatch/accounts/tokens.py) and the throttle per source address, which stops one
machine guessing across many accounts. Both are kept in PostgreSQL, so they hold across
every process and host."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dispatch.accounts.tokens import issue_token
from dispatch.accounts.users import verify_password
from dispatch.core.db import transaction
from dispatch.core.errors import TooManyRequests, Unauthorized
from dispatch.core.ratelimits import SharedRateLimiter
from dispatch.core.settings import Settings
from dispatch.models import User

log = logging.getLogger("siaga112.auth")
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
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
    return token_for(user, settings)


def token_for(user: User, settings: Settings) -> IssuedToken:
    """A bearer token of the account's current token generation."""
    token = issue_token(user, secret_key=settings.signing_key, ttl_s=settings.token_ttl_s)
    return IssuedToken(access_token=token, expires_in=settings.token_ttl_s)


def check_not_locked(user: User, now: datetime) -> None:
    if user.locked_until is not None and user.locked_until > now:
        raise Unauthorized("the account is locked after repeated failed log-ins: try later")


def count_failure(user: User, now: datetime) -> None:
    """A wrong password for the (row-locked) account: the fifth in a row locks it for
    LOCKOUT, whether it came through the log-in or a password change."""
    user.failed_logins += 1
    if user.failed_logins >= MAX_FAILED_LOGINS:
        user.locked_until = now + LOCKOUT
        user.failed_logins = 0


async def authenticate(
    session: AsyncSession, username: str, password: str, *, now: datetime | None = None
) -> User:
    """Check a login. Five failures in a row lock the account for 15 minutes."""
    now = now or datetime.now(UTC)
    user = await session.scalar(
        select(User).where(User.username == username).with_for_update()
    )
    if user is None or not user.active:
        raise Unauthorized("wrong username or password")
    check_not_locked(user, now)
    # Argon2 takes tens to hundreds of milliseconds of CPU: off the event loop.
    if not await asyncio.to_thread(verify_password, user.password_hash, password):
        count_failure(user, now)
        raise Unauthorized("wrong username or password")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    return user

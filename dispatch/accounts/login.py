"""Logging in: the password check, the account lock after repeated failures (five in a
row) and the throttle per source address, which stops one
machine guessing across many accounts. Both are kept in PostgreSQL, so they hold across
every process and host."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dispatch.accounts.tokens import issue_token
from dispatch.accounts.users import hash_password, verify_password
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


def failed_login_limiter(engine: AsyncEngine, settings: Settings, *,
                         watch_prefix: str | None = None) -> SharedRateLimiter:
    """`login_failures_per_address` failures at once, then one more per
    `login_failure_window_s / login_failures_per_address` seconds. With `watch_prefix`
    the blocks of those keys are read back at every sync (for a check made locally)."""
    failures = settings.login_failures_per_address
    return SharedRateLimiter(engine, rate_per_s=failures / settings.login_failure_window_s,
                             burst=failures, sync_interval_s=settings.rate_limit_sync_s,
                             watch_prefix=watch_prefix)


async def log_in(
    sessions: async_sessionmaker[AsyncSession], settings: Settings,
    failures_by_address: SharedRateLimiter, *, username: str, password: str, address: str,
) -> IssuedToken:
    """A bearer token for a right password. A wrong one is counted against the account
    (committed, although the log-in fails) and against the source address; an address
    past its allowance gets 429 with the wait, whatever the password.

    Argon2 (tens to hundreds of milliseconds) runs between two short transactions, never
    while a pooled connection or the account's row lock is held: a burst of log-ins at a
    shift change must not take the connections the intake needs. An unknown name costs
    the same Argon2 as a known one, so timing does not tell which names exist."""
    key = f"login-address:{address}"
    wait = await failures_by_address.blocked(key)
    if wait > 0:
        raise TooManyRequests("too many failed log-ins from this address: wait and retry",
                              retry_after_s=wait)
    async with transaction(sessions) as session:
        found = (await session.execute(select(User.id, User.password_hash).where(
            User.username == username))).one_or_none()
    verified_hash = found.password_hash if found is not None else _unknown_user_hash()
    right = await asyncio.to_thread(verify_password, verified_hash, password)
    failure: Unauthorized | None = None
    async with transaction(sessions) as session:
        try:
            user = await settle_login(session, found.id if found is not None else None,
                                      verified_hash=verified_hash, right=right)
        except Unauthorized as exc:
            failure = exc
    if failure is not None:
        await failures_by_address.record(key)
        # The name only when it is an account's: people type passwords into that field.
        shown = repr(username[:64]) if found is not None else "an unknown name"
        log.warning("failed log-in for %s from %s: %s", shown, address, failure.detail)
        await asyncio.sleep(FAILED_LOGIN_DELAY_S)
        raise failure
    return token_for(user, settings)


@functools.cache
def _unknown_user_hash() -> str:
    return hash_password("no account has this password " + os.urandom(8).hex())


def token_for(user: User, settings: Settings) -> IssuedToken:
    """A bearer token of the account's current token generation."""
    token = issue_token(user, secret_key=settings.signing_key, ttl_s=settings.token_ttl_s)
    return IssuedToken(access_token=token, expires_in=settings.token_ttl_s)


def check_not_locked(user: User, now: datetime) -> None:
    if user.locked_until is not None and user.locked_until > now:
        raise Unauthorized("the account is locked after repeated failed log-ins: try later")


def count_failure(user: User, now: datetime) -> bool:
    """A wrong password for the (row-locked) account: the fifth in a row locks it for
    LOCKOUT, whether it came through the log-in or a password change. True when this one
    locked it."""
    user.failed_logins += 1
    if user.failed_logins < MAX_FAILED_LOGINS:
        return False
    user.locked_until = now + LOCKOUT
    user.failed_logins = 0
    return True


async def settle_login(
    session: AsyncSession, user_id: uuid.UUID | None, *, verified_hash: str, right: bool,
    now: datetime | None = None,
) -> User:
    """Decide a log-in whose password was checked against `verified_hash` (`right`), under
    the account's row lock: five failures in a row lock the account for LOCKOUT. The lock
    is named only to whoever gives the right password; to others every refusal reads the
    same."""
    now = now or datetime.now(UTC)
    wrong = Unauthorized("wrong username or password")
    user: User | None = None if user_id is None else await session.scalar(
        select(User).where(User.id == user_id).with_for_update())
    if user is None or not user.active:
        raise wrong
    if user.locked_until is not None and user.locked_until > now:
        if right:
            check_not_locked(user, now)
        raise wrong
    if not right or user.password_hash != verified_hash:
        count_failure(user, now)
        raise wrong
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    return user

"""OAuth2 password flow: checking a login and issuing/reading JWTs (pyjwt, HS256)."""

from __future__ import annotations

import asyncio
import functools
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.accounts.users import verify_password
from dispatch.core.errors import Unauthorized
from dispatch.models import User

ALGORITHM = "HS256"
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)


@dataclass(frozen=True)
class Principal:
    """Who is calling, as read from a verified token."""

    user_id: str
    username: str
    role: str
    agency_code: str | None


def issue_token(user: User, *, secret_key: str, ttl_s: int, now: datetime | None = None) -> str:
    issued = now or datetime.now(UTC)
    claims = {
        "sub": str(user.id),
        "name": user.username,
        "role": user.role,
        "agency": user.agency_code,
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(seconds=ttl_s)).timestamp()),
    }
    return jwt.encode(claims, secret_key, algorithm=ALGORITHM)


def read_token(token: str, *, secret_key: str, now: float | None = None) -> Principal:
    """The principal of a valid, unexpired token (`now`: POSIX seconds, for tests)."""
    try:
        principal, expires = _verified(token, secret_key)
    except jwt.PyJWTError:
        raise Unauthorized("the token is not valid") from None
    if expires <= (time.time() if now is None else now):
        raise Unauthorized("the token has expired: log in again")
    return principal


@functools.lru_cache(maxsize=4096)
def _verified(token: str, secret_key: str) -> tuple[Principal, int]:
    """Signature and claims checked once per token and process (PyJWT takes ~0.1 ms, every
    request carries a token); the expiry is checked by the caller on every use. A token
    that fails raises and is not cached."""
    claims = jwt.decode(token, secret_key, algorithms=[ALGORITHM],
                        options={"require": ["exp", "sub"], "verify_exp": False})
    principal = Principal(
        user_id=claims["sub"],
        username=claims.get("name", ""),
        role=claims.get("role", ""),
        agency_code=claims.get("agency"),
    )
    return principal, int(claims["exp"])


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
    if user.locked_until is not None and user.locked_until > now:
        raise Unauthorized("the account is locked after repeated failed log-ins: try later")
    # Argon2 takes tens to hundreds of milliseconds of CPU: off the event loop.
    if not await asyncio.to_thread(verify_password, user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
        raise Unauthorized("wrong username or password")
    user.failed_logins = 0
    user.locked_until = None
    return user

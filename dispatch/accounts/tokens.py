"""Bearer tokens: issuing and reading JWTs (pyjwt, HS256). Whether a token was revoked
since is dispatch/accounts/sessions.py's question; the password check is login.py's."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from dispatch.core.errors import Unauthorized
from dispatch.models import User

ALGORITHM = "HS256"


@dataclass(frozen=True)
class Principal:
    """Who is calling, as read from a verified token."""

    user_id: str
    username: str
    role: str
    agency_code: str | None
    generation: int = 0  # the account's token generation at issue (sessions.py)
    expires_at: float = 0.0  # POSIX seconds (the token's `exp`)


def issue_token(user: User, *, secret_key: str, ttl_s: int, now: datetime | None = None) -> str:
    issued = now or datetime.now(UTC)
    claims = {
        "sub": str(user.id),
        "name": user.username,
        "role": user.role,
        "agency": user.agency_code,
        "gen": user.token_generation or 0,
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(seconds=ttl_s)).timestamp()),
    }
    return jwt.encode(claims, secret_key, algorithm=ALGORITHM)


def read_token(token: str, *, secret_key: str, now: float | None = None) -> Principal:
    """The principal of a valid, unexpired token (`now`: POSIX seconds, for tests)."""
    try:
        principal, expires = _verified(token, secret_key)
    except (jwt.PyJWTError, ValueError, TypeError):
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
        generation=int(claims.get("gen", 0)),
        expires_at=float(claims["exp"]),
    )
    return principal, int(claims["exp"])

"""User accounts: argon2 password hashes and creation. Tokens live in
dispatch/accounts/tokens.py."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agencies.models import Agency
from dispatch.core.errors import Conflict, Invalid
from dispatch.models import ROLES, User

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def create_user(
    session: AsyncSession,
    username: str,
    *,
    role: str,
    password: str,
    agency_code: str | None = None,
) -> User:
    """Create one account; an agency account must name an existing agency, others none."""
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}")
    if (role == "agency") != (agency_code is not None):
        raise Invalid("an agency account needs --agency CODE, and only an agency account takes one")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    if agency_code is not None:
        exists = await session.scalar(select(Agency.id).where(Agency.code == agency_code))
        if exists is None:
            raise Invalid(f"there is no agency with code {agency_code}")
    if await session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"a user named {username} already exists")
    user = User(
        username=username,
        role=role,
        agency_code=agency_code,
        password_hash=hash_password(password),
        active=True,
        failed_logins=0,
    )
    session.add(user)
    await session.flush()
    return user

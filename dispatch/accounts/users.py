"""User accounts: password rules and hashes, creating an account, reading them.

Changes to an existing account (role, agency, disabling, passwords, log-out) are in
dispatch/accounts/changes.py; which tokens are still good in sessions.py."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from agencies.models import Agency
from dispatch.accounts.sessions import take_revision
from dispatch.core.errors import Conflict, Invalid, NotFound
from dispatch.core.events import append_event
from dispatch.core.pagination import decode_key_cursor, key_page
from dispatch.models import ROLES, User

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256  # Argon2 takes any length; this bounds the work per request
USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_password_rules(password: str, username: str, *, field: str = "password") -> None:
    """422 naming the rule a new password breaks."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"the password must be at least {MIN_PASSWORD_LENGTH} characters",
                      field=field)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise Invalid(f"the password must be at most {MAX_PASSWORD_LENGTH} characters",
                      field=field)
    if password.strip().casefold() == username.strip().casefold():
        raise Invalid("the password must not be the username", field=field)


async def hash_new_password(password: str, username: str, *, field: str = "password") -> str:
    """The rules checked, then the Argon2 hash computed off the event loop (tens to
    hundreds of milliseconds of CPU)."""
    check_password_rules(password, username, field=field)
    return await asyncio.to_thread(hash_password, password)


async def check_role_and_agency(session: AsyncSession, role: str,
                                agency_code: str | None) -> None:
    """An agency account names an existing agency; other roles name none."""
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}", field="role")
    if role == "agency" and agency_code is None:
        raise Invalid("an agency account needs agency_code", field="agency_code")
    if role != "agency" and agency_code is not None:
        raise Invalid("only an agency account takes agency_code", field="agency_code")
    if agency_code is not None:
        exists = await session.scalar(select(Agency.id).where(Agency.code == agency_code))
        if exists is None:
            raise Invalid(f"there is no agency with code {agency_code}", field="agency_code")


def user_view(user: User) -> dict[str, Any]:
    """An account as the API shows it: never the password hash, nor the lock counters."""
    return {
        "id": str(user.id),
        "username": user.username,
        "role": user.role,
        "agency_code": user.agency_code,
        "active": user.active,
        "created_at": user.created_at,
        "last_login_at": user.last_login_at,
    }


def audit_fields(user: User) -> dict[str, Any]:
    """What an account event records of the account (never a password or hash). The token
    generation tells the feed hubs which open WebSockets the change revokes."""
    return {"username": user.username, "role": user.role, "agency_code": user.agency_code,
            "active": user.active, "token_generation": user.token_generation}


async def create_user(
    session: AsyncSession,
    username: str,
    *,
    role: str,
    password: str,
    agency_code: str | None = None,
    actor: str = "system",
) -> User:
    """Create one account and its `user.created` event."""
    if not re.fullmatch(USERNAME_PATTERN, username):
        raise Invalid("a username is 2-64 letters, digits and . _ @ -, starting with a "
                      "letter or digit", field="username")
    await check_role_and_agency(session, role, agency_code)
    password_hash = await hash_new_password(password, username)
    revision = await take_revision(session)
    if await session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"a user named {username} already exists")
    user = User(username=username, role=role, agency_code=agency_code,
                password_hash=password_hash, active=True, failed_logins=0,
                token_generation=0, revision=revision)
    session.add(user)
    await session.flush()
    await session.refresh(user)
    await append_event(session, "user.created", actor=actor, entity="user",
                       entity_id=user.id, after=audit_fields(user))
    return user


async def find_user(session: AsyncSession, user_id: uuid.UUID, *,
                    for_update: bool = False) -> User:
    return await _one_user(session, User.id == user_id, f"no user with id {user_id}",
                           for_update=for_update)


async def find_user_by_name(session: AsyncSession, username: str, *,
                            for_update: bool = False) -> User:
    return await _one_user(session, User.username == username, f"no user named {username}",
                           for_update=for_update)


async def _one_user(session: AsyncSession, where: ColumnElement[bool], missing: str, *,
                    for_update: bool) -> User:
    query = select(User).where(where)
    if for_update:  # and re-read: the session may hold an older copy
        query = query.with_for_update().execution_options(populate_existing=True)
    user = await session.scalar(query)
    if user is None:
        raise NotFound(missing)
    return user


async def list_users(
    session: AsyncSession, *, role: str | None = None, agency: str | None = None,
    active: bool | None = None, limit: int = 50, cursor: str | None = None,
) -> dict[str, Any]:
    """Accounts in username order, a page at a time."""
    query = select(User)
    if role is not None:
        query = query.where(User.role == role)
    if agency is not None:
        query = query.where(User.agency_code == agency)
    if active is not None:
        query = query.where(User.active == active)
    if cursor:
        query = query.where(User.username > decode_key_cursor(cursor))
    rows = list(await session.scalars(query.order_by(User.username).limit(limit + 1)))
    page, next_cursor = key_page(rows, limit, lambda user: user.username)
    return {"items": [user_view(u) for u in page], "next_cursor": next_cursor}

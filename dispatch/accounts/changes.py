"""Changes to an existing account, each with its audit event and, where it revokes the
account's tokens, a new token generation (dispatch/accounts/sessions.py).

Every change takes an account revision before it locks the account (always in that
order: no deadlock); that row lock serialises account changes, so two admins demoting
each other at once cannot both succeed and leave no admin. Password hashes are computed
before, outside the locks."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.accounts.login import check_not_locked, count_failure
from dispatch.accounts.sessions import take_revision
from dispatch.accounts.users import (
    audit_fields,
    check_role_and_agency,
    find_user,
    hash_new_password,
    verify_password,
)
from dispatch.core.errors import Conflict, Invalid, Unauthorized
from dispatch.core.events import append_event
from dispatch.models import User

_UNSET: Any = object()


@dataclass(frozen=True)
class AccountPatch:
    """What PATCH /v1/users/{id} asks to change; `_UNSET` fields stay as they are."""

    role: str = _UNSET
    agency_code: str | None = _UNSET
    active: bool = _UNSET


async def _other_active_admins(session: AsyncSession, user: User) -> int:
    return int(await session.scalar(
        select(func.count()).select_from(User).where(
            User.role == "admin", User.active.is_(True), User.id != user.id)) or 0)


async def _record(session: AsyncSession, type: str, user: User, *, actor: str,
                  before: dict[str, Any] | None, revoke: bool) -> None:
    if revoke:
        user.token_generation += 1
    user.revision = await take_revision(session)
    await session.flush()
    await append_event(session, type, actor=actor, entity="user", entity_id=user.id,
                       before=before, after=audit_fields(user))


async def update_user(session: AsyncSession, user_id: uuid.UUID, patch: AccountPatch, *,
                      actor: str) -> User:
    """Role, agency and active state. A role or agency change and disabling revoke the
    account's tokens; an admin cannot be demoted or disabled if no other active admin
    would be left (409)."""
    await take_revision(session)  # serialise account changes before reading the admins
    user = await find_user(session, user_id, for_update=True)
    role = user.role if patch.role is _UNSET else patch.role
    if patch.agency_code is not _UNSET:
        agency_code = patch.agency_code
    else:  # a role change away from agency drops the agency; to agency needs one
        agency_code = user.agency_code if role == "agency" else None
    active = user.active if patch.active is _UNSET else patch.active
    if active is None or role is None:
        raise Invalid("role and active cannot be null", field="role" if role is None
                      else "active")
    await check_role_and_agency(session, role, agency_code)
    leaves_admins = user.role == "admin" and user.active and (role != "admin" or not active)
    if leaves_admins and await _other_active_admins(session, user) == 0:
        raise Conflict("this is the last active admin: make another admin first")
    changes: list[tuple[str, dict[str, Any]]] = []
    if role != user.role:
        changes.append(("user.role_changed", {"role": role, "agency_code": agency_code}))
    elif agency_code != user.agency_code:
        changes.append(("user.agency_changed", {"agency_code": agency_code}))
    if active != user.active:
        changes.append(("user.enabled" if active else "user.disabled", {"active": active}))
    for type, values in changes:
        before = audit_fields(user)
        for name, value in values.items():
            setattr(user, name, value)
        await _record(session, type, user, actor=actor, before=before,
                      revoke=type != "user.enabled")
    return user


async def reset_password(session: AsyncSession, user_id: uuid.UUID, password: str, *,
                         actor: str) -> User:
    """An admin sets a new password (for someone who forgot theirs): it also lifts a
    lock after failed log-ins and revokes every token of the account."""
    user = await find_user(session, user_id)
    password_hash = await hash_new_password(password, user.username)
    await take_revision(session)
    user = await find_user(session, user_id, for_update=True)
    before = audit_fields(user)
    user.password_hash = password_hash
    user.failed_logins = 0
    user.locked_until = None
    await _record(session, "user.password_reset", user, actor=actor, before=before,
                  revoke=True)
    return user


class WrongPassword(Unauthorized):
    """The current password was wrong; counted against the account (a caller that wants
    the count kept commits before passing this on)."""


async def change_own_password(session: AsyncSession, user_id: uuid.UUID, *,
                              current_password: str, new_password: str) -> User:
    """A user changes their own password, proving the current one (401 otherwise). A
    wrong one counts against the account as a failed log-in does, decided under the row
    lock (parallel guesses cannot slip past it); the guess that locks the account also
    revokes its tokens, so a stolen token cannot be used to guess the password nor keep
    working while its owner is locked out. Argon2 runs before the locks are taken."""
    now = datetime.now(UTC)
    user = await find_user(session, user_id)
    verified_hash = user.password_hash
    right = await asyncio.to_thread(verify_password, verified_hash, current_password)
    password_hash = None
    if right:
        if new_password == current_password:
            raise Invalid("the new password must differ from the current one",
                          field="new_password")
        password_hash = await hash_new_password(new_password, user.username,
                                                field="new_password")
    await take_revision(session)
    user = await find_user(session, user_id, for_update=True)
    if not user.active:
        raise Unauthorized("the account is disabled")
    check_not_locked(user, now)
    if password_hash is None:
        before = audit_fields(user)
        if count_failure(user, now):
            await _record(session, "user.locked", user, actor=user.username, before=before,
                          revoke=True)
        raise WrongPassword("the current password is wrong")
    if user.password_hash != verified_hash:
        raise Conflict("the account changed meanwhile: try again")
    before = audit_fields(user)
    user.password_hash = password_hash
    await _record(session, "user.password_changed", user, actor=user.username,
                  before=before, revoke=True)
    return user


async def log_out(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Revoke the presented token and every other token of the account issued before."""
    await take_revision(session)
    user = await find_user(session, user_id, for_update=True)
    before = audit_fields(user)
    await _record(session, "user.logged_out", user, actor=user.username, before=before,
                  revoke=True)


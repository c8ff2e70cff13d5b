"""Accounts (admin): list, create, read, change role/agency/active, reset a password."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from api.auth import require
from api.deps import account_change, unit_of_work
from api.problems import problem_responses
from api.responses import Role, User, UserPage
from api.schemas import PasswordResetIn, UserIn, UserPatch
from dispatch.accounts import changes, users
from dispatch.accounts.tokens import Principal

router = APIRouter(prefix="/v1/users", tags=["users"],
                   responses=problem_responses(401, 403, 422, 429, 503))
Admin = Annotated[Principal, Depends(require("admin"))]


@router.get("")
async def list_users(
    request: Request,
    principal: Admin,
    role: Role | None = None,
    agency: str | None = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> UserPage:
    """Accounts in username order, a page at a time."""
    async with unit_of_work(request) as session:
        return UserPage.model_validate(await users.list_users(
            session, role=role, agency=agency, active=active, limit=limit, cursor=cursor))


@router.post("", status_code=201, responses=problem_responses(400, 409, 413))
async def create_user(request: Request, body: UserIn, principal: Admin) -> User:
    """A new account. An agency account needs `agency_code`; the password needs at least
    10 characters and must not be the username."""
    async with account_change(request) as session:
        user = await users.create_user(
            session, body.username, role=body.role, password=body.password,
            agency_code=body.agency_code, actor=principal.username)
        return User.model_validate(users.user_view(user))


@router.get("/{user_id}", responses=problem_responses(404))
async def read_user(request: Request, user_id: uuid.UUID, principal: Admin) -> User:
    async with unit_of_work(request) as session:
        return User.model_validate(users.user_view(await users.find_user(session, user_id)))


@router.patch("/{user_id}", responses=problem_responses(400, 404, 409, 413))
async def update_user(
    request: Request, user_id: uuid.UUID, body: UserPatch, principal: Admin
) -> User:
    """Change role, agency or active state. Disabling and a role or agency change revoke
    the account's tokens at once; the last active admin cannot be disabled or demoted
    (409)."""
    patch = changes.AccountPatch(**body.model_dump(exclude_unset=True))
    async with account_change(request) as session:
        user = await changes.update_user(session, user_id, patch, actor=principal.username)
        return User.model_validate(users.user_view(user))


@router.post("/{user_id}/password", status_code=204,
             responses=problem_responses(400, 404, 413))
async def reset_password(
    request: Request, user_id: uuid.UUID, body: PasswordResetIn, principal: Admin
) -> Response:
    """Set a new password for someone who forgot theirs: also lifts a lock after failed
    log-ins, and revokes the account's tokens."""
    async with account_change(request) as session:
        await changes.reset_password(session, user_id, body.password,
                                     actor=principal.username)
    return Response(status_code=204)

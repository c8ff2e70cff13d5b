"""Authentication dependencies and the token endpoint."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm

from api.client_address import client_address
from api.deps import account_change
from api.problems import problem_responses
from api.responses import Token
from api.schemas import PasswordChangeIn
from dispatch.accounts import changes
from dispatch.accounts.login import log_in, token_for
from dispatch.accounts.sessions import SessionGuard
from dispatch.accounts.tokens import Principal, read_token
from dispatch.core.errors import Forbidden, Unauthorized

router = APIRouter(tags=["auth"])
log = logging.getLogger("siaga112.auth")
bearer = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


@router.post("/auth/token", responses=problem_responses(400, 401, 413, 422, 429, 503))
async def issue_token(
    request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> Token:
    """Log in (OAuth2 password flow: form fields `username`, `password`). Failed log-ins
    are limited per account and per source address (429 with Retry-After)."""
    state = request.app.state
    issued = await log_in(state.sessions, state.settings, state.login_limiter,
                          username=form.username, password=form.password,
                          address=client_address(request.scope, state.settings.trusted_proxies))
    return Token(access_token=issued.access_token, expires_in=issued.expires_in)


def principal_from_token(request: Request, token: str | None) -> Principal:
    """The caller a bearer token names (401 without one, or with an invalid one); not yet
    checked for revocation."""
    if not token:
        raise Unauthorized("a bearer token is needed: POST /auth/token")
    return read_token(token, secret_key=request.app.state.settings.signing_key)


async def current_principal(
    request: Request, token: Annotated[str | None, Depends(bearer)]
) -> Principal:
    """The caller of this request (401 for a revoked token), kept on `request.state` for
    the logs."""
    principal = principal_from_token(request, token)
    guard: SessionGuard = request.app.state.session_guard
    await guard.check(principal)
    request.state.principal = principal
    return principal


def require(*roles: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that lets only the given roles through (403 for the others)."""

    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"the {principal.role} role may not do this")
        return principal

    return check


Anyone = Annotated[Principal, Depends(current_principal)]


@router.post("/auth/password", responses=problem_responses(400, 401, 403, 409, 413, 422, 429, 503))
async def change_password(request: Request, body: PasswordChangeIn,
                          principal: Anyone) -> Token:
    """Change your own password. Every token of the account issued before is revoked,
    this one too: the answer is a new token."""
    wrong: changes.WrongPassword | None = None
    async with account_change(request) as session:
        try:
            user = await changes.change_own_password(
                session, uuid.UUID(principal.user_id),
                current_password=body.current_password, new_password=body.new_password)
        except changes.WrongPassword as exc:
            wrong = exc  # the failure count commits with this transaction
        else:
            issued = token_for(user, request.app.state.settings)
    if wrong is not None:
        raise wrong
    return Token(access_token=issued.access_token, expires_in=issued.expires_in)


@router.post("/auth/logout", status_code=204,
             responses=problem_responses(401, 403, 429, 503))
async def log_out(request: Request, principal: Anyone) -> Response:
    """Revoke this token, and every other token of the account issued before it."""
    async with account_change(request) as session:
        await changes.log_out(session, uuid.UUID(principal.user_id))
    return Response(status_code=204)

"""RFC 9457 problem documents for every error the service returns."""

from __future__ import annotations

import logging
import math
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from dispatch.core.errors import DomainError, RetryLater

log = logging.getLogger("siaga112.api")

PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class FieldError(BaseModel):
    """One invalid input of a 422: where it is and what is wrong with it."""

    loc: list[str | int] = Field(examples=[["body", "location", "lat"]])
    msg: str


class Problem(BaseModel):
    """An RFC 9457 problem document (`application/problem+json`). Some carry extension
    members: `errors` on a request that failed validation, `field` naming the input a
    domain rule refused, `status_now` on a conflicting transition."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["about:blank"])
    title: str
    status: int
    detail: str
    errors: list[FieldError] = Field(
        default_factory=list, description="422 for a request that failed validation")


_WHEN = {
    400: "The body cannot be parsed (not UTF-8 JSON, or a broken form)",
    401: "No valid bearer token (or wrong credentials at log-in)",
    403: "The token's role may not do this",
    404: "No such resource (or not one this account may see)",
    409: "The resource is not in a state that allows this",
    413: "The request body is larger than the limit (64 KiB by default)",
    422: "The request is invalid: the detail names the field",
    429: "Too many requests with this token: slow down (Retry-After)",
    503: "The database is not reachable: nothing was done, retry (Retry-After)",
}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
_HEADERS = {
    401: {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    429: _RETRY_AFTER,
    503: _RETRY_AFTER,
}
PROBLEM_REF = "#/components/schemas/Problem"


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the errors an operation can answer, each a problem
    document (add the schemas to the document with `add_problem_schemas`)."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        entry: dict[str, Any] = {
            "description": _WHEN[status],
            "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
        }
        if status in _HEADERS:
            entry["headers"] = _HEADERS[status]
        documented[status] = entry
    return documented


def add_problem_schemas(openapi: dict[str, Any]) -> None:
    """Put Problem (and what it refers to) into the document's components."""
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}",
                                       mode="serialization")
    components = openapi.setdefault("components", {}).setdefault("schemas", {})
    components.update(schema.pop("$defs", {}))
    components["Problem"] = schema


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", "invalid")}
        for err in exc.errors()
    ]


# SQLSTATE classes meaning "the server is not there for you right now": connection
# exceptions (08), operator intervention such as shutdown or start-up (57P), and
# insufficient resources (53, e.g. too many connections).
_UNAVAILABLE_SQLSTATES = ("08", "57P", "53")


def _sqlstate(exc: BaseException) -> str:
    """The PostgreSQL error code behind an exception, or ''."""
    for candidate in (exc, getattr(exc, "orig", None), exc.__cause__):
        code = getattr(candidate, "sqlstate", None)
        if isinstance(code, str):
            return code
    return ""


def _is_database_unavailable(exc: BaseException) -> bool:
    """Connection refused, reset or timed out: the database is away, not the request bad."""
    if isinstance(exc, (OperationalError, InterfaceError, ConnectionError, TimeoutError, OSError,
                        asyncpg.InterfaceError, PoolTimeout,
                        asyncpg.TargetServerAttributeNotMatched)):  # no primary (failover)
        return True
    if _sqlstate(exc).startswith(_UNAVAILABLE_SQLSTATES):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and _is_database_unavailable(cause)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if isinstance(exc, RetryLater):
            headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))}
        return problem(exc.status, exc.detail, title=exc.title, headers=headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        first = errors[0] if errors else {"loc": [], "msg": "invalid"}
        where = ".".join(str(p) for p in first["loc"] if p != "body") or "request"
        return problem(422, f"{where}: {first['msg']}", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "")
        return problem(exc.status_code, detail, headers=getattr(exc, "headers", None))

    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if _sqlstate(exc).startswith("22"):  # data exception: e.g. a NUL character in text
            return problem(422, "the request holds a value the database cannot store "
                           "(for example a NUL character in a text field)")
        if _sqlstate(exc) == "23505":  # unique violation: a concurrent request won the race
            log.warning("unique violation during %s %s (a concurrent request)",
                        request.scope.get("method", "WEBSOCKET"), request.url.path)
            return problem(409, "a concurrent request made the same thing first; read it "
                           "or retry")
        if _is_database_unavailable(exc):
            log.warning("database unavailable during %s %s: %s",
                        request.scope.get("method", "WEBSOCKET"), request.url.path,
                        type(exc).__name__)
            return problem(
                503,
                "the database is not reachable; the request was not carried out, retry shortly",
                headers={"Retry-After": "2"},
            )
        log.error("unexpected error during %s %s", request.scope.get("method", "WEBSOCKET"),
                  request.url.path, exc_info=exc)
        return problem(500, "an internal error occurred; it has been logged")

    # Database outages are handled inside the app (503); anything else unexpected goes to
    # Starlette's last-resort handler, which answers with this body and logs the error.
    for kind in (DBAPIError, OSError, TimeoutError, asyncpg.PostgresError,
                 asyncpg.InterfaceError, PoolTimeout, asyncpg.TargetServerAttributeNotMatched):
        app.add_exception_handler(kind, _unexpected)
    app.add_exception_handler(Exception, _unexpected)

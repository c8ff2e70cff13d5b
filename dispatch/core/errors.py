"""The small set of domain exceptions; api/problems.py maps each to problem+json."""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class Invalid(DomainError):
    status = 422
    title = "Invalid request"


class Unauthorized(DomainError):
    status = 401
    title = "Unauthorized"


class RetryLater(DomainError):
    """An error the client should retry: answered with `Retry-After: retry_after_s`."""

    def __init__(self, detail: str, *, retry_after_s: float) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class TooManyRequests(RetryLater):
    status = 429
    title = "Too many requests"


class Unavailable(RetryLater):
    status = 503
    title = "Service unavailable"

"""Logging: one configuration for uvicorn and the service, in text or one JSON object per
line (`DISPATCH_LOG_FORMAT=json`, for log shippers).

Nothing secret or personal reaches a log line in full:
- caller numbers are masked (UU 27/2022 on personal data): `+62812*****890`;
- bearer tokens are removed wherever they appear: a `token=` query parameter (WebSocket
  clients pass one; uvicorn logs the path with its query string), an `Authorization:
  Bearer` value, or a bare JWT; so are trackers' device ids (`/osmand?id=`, `deviceid=`),
  which are their credentials.

The filter redacts a record's message and each of its arguments in place, keeping their
shape: uvicorn's access formatter unpacks `record.args` as a 5-tuple, so the arguments
must stay a tuple (setting them to None printed a `--- Logging error ---` traceback for
every request). The formatters redact their whole output once more, which covers
exception texts and anything a handler of ours formats."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any, Literal

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

LogFormat = Literal["text", "json"]

# The id of the request being served (api/middleware.py sets it), for every log record.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)

# +62 812-3456-7890, 081234567890, 6281234567890, %2B6281234567890 (URL-encoded)
_PHONE = re.compile(r"(?<![\w.])(?:\+|%2B)?(?:62|0)8\d(?:[ \-]?\d){6,11}(?!\d)")
_TOKEN_PARAM = re.compile(
    r"(?i)((?:^|[?&;\s])(?:access_token|token|id|deviceid|device_id)=)[^&\s\"'#\\]+")
_BEARER = re.compile(r"(?i)(bearer\s+)[\w.~+/=-]+")
_JWT = re.compile(r"eyJ[\w-]*\.[\w-]+\.[\w-]+")
REDACTED = "[redacted]"


def mask_numbers(text: str) -> str:
    def hide(match: re.Match[str]) -> str:
        digits = match.group(0)
        return digits[:5] + "*" * max(0, len(digits) - 8) + digits[-3:]

    return _PHONE.sub(hide, text)


def redact(text: str) -> str:
    """The text with tokens removed and caller numbers masked."""
    text = _TOKEN_PARAM.sub(r"\1" + REDACTED, text)
    text = _BEARER.sub(r"\1" + REDACTED, text)
    text = _JWT.sub(REDACTED, text)
    return mask_numbers(text)


def _redact_value(value: Any) -> Any:
    """A log argument with its secrets removed; numbers and unchanged objects as they
    are (so `%d` and `%r` still format them)."""
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, int | float | bool):
        return value
    text = str(value)
    cleaned = redact(text)
    return value if cleaned == text else cleaned


class RedactFilter(logging.Filter):
    """Redacts a record's message and arguments (the formatters add the request id)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_value(a) for a in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {k: _redact_value(v) for k, v in record.args.items()}
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.request_id = getattr(record, "request_id", None) or REQUEST_ID.get() or "-"
        return redact(super().format(record))


class JsonFormatter(_JsonFormatter):
    """One JSON object per line: time, level, logger, message, request_id (and exc_info
    when there is one)."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )

    def format(self, record: logging.LogRecord) -> str:
        record.request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        return redact(super().format(record))


def logging_config(level: str, log_format: LogFormat) -> dict[str, Any]:
    """The dictConfig for uvicorn (`log_config=`) and the app: every logger, uvicorn's
    access and error logs included, through one handler on stderr."""
    handler = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
               "formatter": log_format, "filters": ["redact"]}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": RedactFilter}},
        "formatters": {"text": {"()": TextFormatter}, "json": {"()": JsonFormatter}},
        "handlers": {"default": handler},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            "uvicorn.access": {"handlers": ["default"], "level": level.upper(),
                               "propagate": False},
            # /readyz reads the schema's revision through Alembic, which would log two
            # lines at every probe of the load balancer
            "alembic": {"level": "WARNING"},
        },
        "root": {"handlers": ["default"], "level": level.upper()},
    }


def install(level: str, log_format: LogFormat) -> None:
    """For an app built outside `dispatch serve` (tests, another ASGI server): our handler
    on the root logger unless one is there already, and the redaction filter on every
    handler of the root and uvicorn loggers, whoever installed them."""
    root = logging.getLogger()
    if not any(isinstance(h.formatter, TextFormatter | JsonFormatter) for h in root.handlers):
        ours = logging.StreamHandler()
        ours.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
        root.addHandler(ours)
        root.setLevel(level.upper())
    redact_filter = RedactFilter()
    for name in ("", "uvicorn", "uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactFilter) for f in logger.filters):
            logger.addFilter(redact_filter)
        for handler in logger.handlers:
            if not any(isinstance(f, RedactFilter) for f in handler.filters):
                handler.addFilter(redact_filter)

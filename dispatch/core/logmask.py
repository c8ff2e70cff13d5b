"""Caller numbers never reach the logs in full (UU 27/2022 on personal data): a logging
filter masks anything that looks like a phone number in every record."""

from __future__ import annotations

import logging
import re

# +62 812-3456-7890, 081234567890, 6281234567890, %2B6281234567890 (URL-encoded)
_PHONE = re.compile(r"(?<![\w.])(?:\+|%2B)?(?:62|0)8\d(?:[ \-]?\d){6,11}(?!\d)")


def mask_numbers(text: str) -> str:
    def hide(match: re.Match[str]) -> str:
        digits = match.group(0)
        return digits[:5] + "*" * max(0, len(digits) - 8) + digits[-3:]

    return _PHONE.sub(hide, text)


class MaskCallerNumbers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = mask_numbers(record.getMessage())
            record.args = None
        else:
            record.msg = mask_numbers(str(record.msg))
        return True


def install() -> None:
    """Mask on every handler of the root and uvicorn loggers (filters on handlers see the
    records of child loggers too)."""
    mask = MaskCallerNumbers()
    for name in ("", "uvicorn", "uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.addFilter(mask)
        for handler in logger.handlers:
            if not any(isinstance(f, MaskCallerNumbers) for f in handler.filters):
                handler.addFilter(mask)

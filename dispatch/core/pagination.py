"""Opaque keyset cursors: base64 of (timestamp, id) of the last item on a page."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from dispatch.core.errors import Invalid

T = TypeVar("T")


def encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    raw = f"{at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, row_id = base64.urlsafe_b64decode(padded).decode().split("|")
        return datetime.fromisoformat(at), uuid.UUID(row_id)
    except (ValueError, UnicodeDecodeError):
        raise Invalid("cursor is not one this service handed out", field="cursor") from None


def encode_key_cursor(key: str) -> str:
    """A cursor after a unique text key (a list ordered by that key)."""
    return base64.urlsafe_b64encode(f"k|{key}".encode()).decode().rstrip("=")


def decode_key_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        kind, key = base64.urlsafe_b64decode(padded).decode().split("|", 1)
    except (ValueError, UnicodeDecodeError):
        kind, key = "", ""
    if kind != "k":
        raise Invalid("cursor is not one this service handed out", field="cursor")
    return key


def key_page(rows: Sequence[T], limit: int, key: Callable[[T], str]) -> tuple[list[T], str | None]:
    """The page of `rows` (read with `limit + 1`, in key order) and the cursor after it,
    None on the last page."""
    page = list(rows[:limit])
    return page, (encode_key_cursor(key(page[-1])) if len(rows) > limit else None)

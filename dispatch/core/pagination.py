"""Opaque keyset cursors: base64 of (timestamp, id) of the last item on a page."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime

from dispatch.core.errors import Invalid


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

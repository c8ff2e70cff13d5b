"""What the center knows of a caller's number the moment the operator has typed it: its
calls and prank or ghost calls of the last 24 hours, and the handset's AML position when
one arrived before the call (the intake will take it; the console shows it at once)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.calls.input import normalise_number
from dispatch.calls.reads import REPEAT_WINDOW
from dispatch.core.settings import Settings
from dispatch.models import PRANK_DISPOSITIONS
from geo.aml import parse_aml
from geo.locate import aml_candidate

_HISTORY = text("""
    SELECT
      (SELECT count(*) FROM calls
        WHERE caller_number = :caller AND received_at >= :repeat_since) AS calls_24h,
      (SELECT count(*) FROM calls
        WHERE caller_number = :caller AND disposition = ANY(:pranks)
          AND received_at >= :repeat_since) AS prank_or_ghost_24h,
      (SELECT jsonb_build_object('id', id, 'raw', raw, 'received_at', received_at)
         FROM aml_messages
        WHERE caller_number = :caller AND call_id IS NULL AND received_at >= :aml_since
        ORDER BY received_at DESC LIMIT 1) AS pending_aml
""")


async def caller_history(
    session: AsyncSession, settings: Settings, raw_number: str, now: datetime
) -> dict[str, Any]:
    """One round trip. The number in any form a console sends (422 when it is none)."""
    caller = normalise_number(raw_number, settings.phone_region)
    row = (await session.execute(_HISTORY, {
        "caller": caller, "pranks": list(PRANK_DISPOSITIONS),
        "repeat_since": now - REPEAT_WINDOW,
        "aml_since": now - timedelta(seconds=settings.aml_match_window_s),
    })).one()
    pending = None
    if row.pending_aml is not None:
        candidate = aml_candidate(parse_aml(row.pending_aml["raw"]))
        if candidate is not None:  # an AML without a usable position tells nothing here
            pending = {"id": row.pending_aml["id"], "lat": candidate.lat,
                       "lon": candidate.lon, "accuracy_m": candidate.accuracy_m,
                       "received_at": datetime.fromisoformat(row.pending_aml["received_at"])}
    return {"caller_number": caller, "calls_24h": int(row.calls_24h),
            "prank_or_ghost_24h": int(row.prank_or_ghost_24h), "pending_aml": pending}

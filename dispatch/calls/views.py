"""The call as the API shows it."""

from __future__ import annotations

from typing import Any

from dispatch.incidents.location import location_view
from dispatch.models import Call


def call_view(
    call: Call,
    *,
    operator: str | None,
    incident: dict[str, Any] | None,
    duplicates: list[dict[str, Any]],
    repeat_count: int,
) -> dict[str, Any]:
    return {
        "id": str(call.id),
        "received_at": call.received_at.isoformat(),
        "caller_number": call.caller_number,
        "channel": call.channel,
        "operator": operator,
        "location": location_view(call),
        "area": call.area,
        "in_service_area": call.in_service_area,
        "possible_duplicates": duplicates,
        "incident": incident,
        "incident_id": str(call.incident_id) if call.incident_id else None,
        "location_warnings": list(call.location_warnings or []),
        "repeat_caller": {"prank_or_ghost_24h": repeat_count},
        "disposition": call.disposition,
    }



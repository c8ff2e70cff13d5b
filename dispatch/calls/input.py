"""The parse step of the intake: a call as the operator's console sends it, and the caller
number in E.164."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import phonenumbers

from agencies.registry import CategoryRule
from dispatch.actor import Actor
from dispatch.core.errors import Invalid
from dispatch.incidents.opening import category_or_invalid


@dataclass(frozen=True)
class ManualLocation:
    lat: float
    lon: float
    accuracy_m: float | None = None


@dataclass(frozen=True)
class CallInput:
    caller_number: str
    received_at: datetime | None = None
    channel: str = "voice"
    aml: str | None = None
    location: ManualLocation | None = None
    address: str | None = None
    cell: dict[str, int] | None = None
    category: str | None = None
    priority: int | None = None
    description: str | None = None
    link_incident_id: uuid.UUID | None = None


def normalise_number(raw: str, region: str) -> str:
    """E.164 for any valid number written in international or local (0812…) form."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise Invalid(f"caller_number {raw!r} is not a phone number",
                      field="caller_number") from None
    if not phonenumbers.is_valid_number(number):
        raise Invalid(f"caller_number {raw!r} is not a valid phone number",
                      field="caller_number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True)
class ParsedCall:
    """A call's input checked against what the process knows: the caller in E.164, the
    time it reached the center, and its category (None: no incident yet)."""

    data: CallInput
    caller: str
    received_at: datetime
    category: CategoryRule | None


def parse_call(actor: Actor, data: CallInput, now: datetime) -> ParsedCall:
    """Step 1 of the intake. Raises Invalid naming the field at fault."""
    caller = normalise_number(data.caller_number, actor.settings.phone_region)
    category = category_or_invalid(actor, data.category) if data.category else None
    return ParsedCall(data=data, caller=caller, received_at=data.received_at or now,
                      category=category)

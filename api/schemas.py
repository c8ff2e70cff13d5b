"""Request bodies (unknown fields are refused with 422)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from api.responses import Channel, Disposition
from dispatch.accounts.users import USERNAME_PATTERN
from dispatch.core.agency_kinds import AgencyKind


class Strict(BaseModel):
    """Base of the request bodies: unknown fields are a 422."""

    model_config = ConfigDict(extra="forbid")


class LocationIn(Strict):
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    accuracy_m: float | None = Field(None, ge=0, le=1_000_000, allow_inf_nan=False)


class CellIn(Strict):
    mcc: int = Field(ge=0, le=999)
    mnc: int = Field(ge=0, le=999)
    lac: int = Field(ge=0, le=0xFFFFFF)  # LAC (16 bit) or TAC (24 bit)
    cid: int = Field(ge=0, le=2**36 - 1)  # up to a 36-bit 5G NR cell id


Priority = Field(None, ge=1, le=4)


class CallIn(Strict):
    caller_number: str = Field(min_length=3, max_length=32)
    received_at: AwareDatetime | None = None
    channel: Channel = "voice"
    aml: str | None = Field(None, max_length=4096)
    location: LocationIn | None = None
    address: str | None = Field(None, max_length=500)
    cell: CellIn | None = None
    category: str | None = Field(None, max_length=40)
    priority: int | None = Priority
    description: str | None = Field(None, max_length=4000)
    link_incident_id: uuid.UUID | None = None


class CallIncidentIn(Strict):
    category: str | None = Field(None, max_length=40)
    priority: int | None = Priority
    description: str | None = Field(None, max_length=4000)
    link_incident_id: uuid.UUID | None = None


class DispositionIn(Strict):
    disposition: Disposition
    note: str | None = Field(None, max_length=2000)


class IncidentPatch(Strict):
    category: str | None = Field(None, max_length=40)
    priority: int | None = Priority
    location: LocationIn | None = None
    description: str | None = Field(None, max_length=4000)


class ManualAssignmentIn(Strict):
    agency_code: str = Field(max_length=40)


class CloseIn(Strict):
    resolution: str = Field(min_length=1, max_length=4000)


class NoteIn(Strict):
    text: str = Field(min_length=1, max_length=4000,
                      description="1 to 4,000 characters once surrounding white space is "
                                  "stripped")

    @field_validator("text", mode="before")
    @classmethod
    def _stripped(cls, text: object) -> object:
        return text.strip() if isinstance(text, str) else text


class MergeIn(Strict):
    into_incident_id: uuid.UUID


class StatusIn(Strict):
    status: Literal["en_route", "on_scene", "completed", "declined"]
    note: str | None = Field(None, max_length=2000)


class StationIn(Strict):
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)


class AgencyIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    kind: AgencyKind
    station: StationIn
    coverage: dict[str, Any] | None = None
    active: bool = True
    is_fallback: bool = False
    phone: str | None = Field(None, max_length=40)
    contact: str | None = Field(None, max_length=500)


class CategoryIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    name_id: str = Field(min_length=1, max_length=200)
    agency_kinds: list[AgencyKind] = Field(min_length=1)
    default_priority: int = Field(ge=1, le=4)
    active: bool = True


Username = Field(min_length=2, max_length=64, pattern=USERNAME_PATTERN)
Password = Field(max_length=256)  # the rules (length, not the username) are the domain's


class UserIn(Strict):
    username: str = Username
    role: Literal["gateway", "operator", "supervisor", "agency", "admin"]
    agency_code: str | None = Field(None, max_length=40)
    password: str = Password


class UserPatch(Strict):
    """Only the fields given change. A role change away from `agency` drops the agency."""

    role: Literal["gateway", "operator", "supervisor", "agency", "admin"] | None = None
    agency_code: str | None = Field(None, max_length=40)
    active: bool | None = None


class PasswordResetIn(Strict):
    password: str = Password


class PasswordChangeIn(Strict):
    current_password: str = Field(max_length=256)
    new_password: str = Password


class UnitIn(Strict):
    """PUT /v1/units/{code}."""

    agency_code: str = Field(max_length=40)
    kind: Literal["ambulance", "patrol", "fire_engine", "rescue", "other"]
    name: str = Field(min_length=1, max_length=200)
    device_id: str | None = Field(None, min_length=16, max_length=128,
                                  description="the tracker's id (/osmand), its credential")


class UnitStatusIn(Strict):
    status: Literal["available", "dispatched", "en_route", "on_scene", "transporting",
                    "at_hospital", "returning", "out_of_service"]


class PositionIn(Strict):
    """One fix; names the unit by `unit_code` or by `device_id` (one of them)."""

    unit_code: str | None = Field(None, max_length=40)
    device_id: str | None = Field(None, max_length=128)
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    accuracy_m: float | None = Field(None, ge=0, le=100_000, allow_inf_nan=False)
    speed_kmh: float | None = Field(None, ge=0, le=1000, allow_inf_nan=False)
    heading: float | None = Field(None, ge=0, le=360, allow_inf_nan=False)
    at: AwareDatetime

    @model_validator(mode="after")
    def _one_name(self) -> PositionIn:
        if (self.unit_code is None) == (self.device_id is None):
            raise ValueError("name the unit by unit_code or by device_id (one of them)")
        return self


class DispatchUnitIn(Strict):
    unit_code: str = Field(max_length=40)


# --- interoperability ------------------------------------------------------------------------

CapSeverity = Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
CapUrgency = Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
CapCertainty = Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]


class AlertIn(Strict):
    """A public CAP alert about an incident, in Bahasa Indonesia."""

    headline: str = Field(min_length=1, max_length=160)
    instruction: str = Field(min_length=1, max_length=2000)
    severity: CapSeverity
    urgency: CapUrgency
    certainty: CapCertainty
    expires: AwareDatetime | None = Field(
        None, description="default: six hours after it is sent; at most seven days ahead")


class AlertUpdateIn(Strict):
    """An Update: the fields given replace those of the message it updates."""

    headline: str | None = Field(None, min_length=1, max_length=160)
    instruction: str | None = Field(None, min_length=1, max_length=2000)
    severity: CapSeverity | None = None
    urgency: CapUrgency | None = None
    certainty: CapCertainty | None = None
    expires: AwareDatetime | None = None

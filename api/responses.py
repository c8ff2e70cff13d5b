"""Response bodies: what every 2xx answer holds, as pydantic models, so /openapi.json
documents it and a generated client gets a class per resource.

The domain builds its views as plain dicts (dispatch.calls.views.call_view,
dispatch.incidents.views.incident_view, dispatch.assignments.records.assignment_view, ...);
these models describe exactly those dicts. Unknown keys are refused (`extra="forbid"`), so
a field the domain adds without a model field fails the tests instead of vanishing from
the validated answers. Timestamps pass through as the domain wrote them (`isoformat()`,
with its offset): validating a view and serialising it again gives the same text.

The hot paths (POST /v1/calls and the list endpoints) answer with orjson and are not
validated at request time; tests/test_openapi.py and the schemathesis run prove their
answers against these models."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)

from dispatch.core.agency_kinds import AgencyKind
from geo.area_codes import AreaMatch

# The value lists below are the domain's (dispatch.models, dispatch.assignments.lifecycle
# and .model, geo.locate) spelled as types; tests/test_openapi.py checks they agree.
Channel = Literal["voice", "sms", "app"]
Disposition = Literal["prank", "ghost", "info", "duplicate", "transferred", "abandoned"]
IncidentStatus = Literal["open", "dispatched", "acknowledged", "on_scene", "closed"]
AssignmentStatus = Literal["queued", "acknowledged", "en_route", "on_scene", "completed",
                           "declined", "escalated", "cancelled"]
AssignmentReason = Literal["coverage", "nearest", "fallback", "manual", "reroute"]
LocationSource = Literal["aml", "manual", "cell", "address"]


_MINUTE = dt.timedelta(minutes=1)


def _aware(value: object) -> object:
    """Python's ISO parser, which also reads the views' rare sub-minute offsets."""
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def _rfc3339(value: dt.datetime) -> str:
    """`isoformat()`, as the domain writes it; in UTC when the offset has seconds (a
    zone's local mean time before 1924, e.g. +07:07:12), which RFC 3339 cannot express."""
    offset = value.utcoffset()
    if offset is not None and offset % _MINUTE:
        value = value.astimezone(dt.UTC)
    return value.isoformat()


Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_aware),
    PlainSerializer(_rfc3339, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""RFC 3339 with its offset, written back as the domain's `isoformat()` wrote it."""

Priority = Annotated[int, Field(ge=1, le=4, description="1 (life-threatening) … 4")]


class Out(BaseModel):
    """Base of the response models: exactly the documented keys."""

    model_config = ConfigDict(extra="forbid")


# --- places ----------------------------------------------------------------------------


class Location(Out):
    """The chosen position of a call or incident and where it came from."""

    lat: float
    lon: float
    accuracy_m: float | None
    source: LocationSource


class AreaRef(Out):
    """One administrative area: Kemendagri code and name."""

    code: str
    name: str


class Area(Out):
    """The areas a point lies in, from the kelurahan up to the provinsi."""

    kelurahan: AreaRef
    kecamatan: AreaRef
    kabkota: AreaRef
    provinsi: AreaRef


class ReverseGeocode(Out):
    """GET /v1/geo/reverse: the area of a point (null outside the loaded region)."""

    area: Area | None
    in_service_area: bool
    exact: bool | None = Field(description="false when the point fell in a sliver gap and "
                                           "the nearest kelurahan was taken")

    @classmethod
    def of(cls, match: AreaMatch | None) -> ReverseGeocode:
        """The answer for a lookup's match (None: outside every area)."""
        if match is None:
            return cls(area=None, in_service_area=False, exact=None)
        return cls(area=Area.model_validate(match.to_dict()), in_service_area=True,
                   exact=match.exact)


class Place(Out):
    """One hit of GET /v1/geo/search, best first."""

    model_config = ConfigDict(from_attributes=True, extra="forbid")

    name: str
    level: str = Field(description="provinsi | kabkota | kecamatan | kelurahan, or the "
                                   "gazetteer entry's kind")
    code: str
    lat: float
    lon: float
    score: float = Field(ge=0, le=1)

    @field_validator("score")
    @classmethod
    def _three_decimals(cls, score: float) -> float:
        return round(score, 3)


# --- assignments and incidents -----------------------------------------------------------


class AgencyRef(Out):
    """The agency an assignment goes to."""

    code: str
    name: str
    kind: AgencyKind


class Assignment(Out):
    """One agency's part in an incident."""

    id: uuid.UUID
    incident_id: uuid.UUID
    agency: AgencyRef
    status: AssignmentStatus
    reason: AssignmentReason
    distance_m: float | None = Field(description="station to incident, metres (0.1 m)")
    priority: Priority
    created_at: Timestamp
    acknowledged_at: Timestamp | None
    ack_due_at: Timestamp = Field(description="when a queued assignment is escalated")
    updated_at: Timestamp


class Incident(Out):
    """An incident with its calls and its assignments."""

    id: uuid.UUID
    number: str = Field(examples=["MJK-20261123-0001"])
    category: str
    priority: Priority
    status: IncidentStatus
    location: Location | None
    area: Area | None
    description: str | None
    resolution: str | None = Field(description='"merged" for an incident merged into another')
    merged_into: uuid.UUID | None = Field(
        description="the incident this one was merged into (it is closed); null otherwise")
    created_at: Timestamp
    updated_at: Timestamp
    closed_at: Timestamp | None
    call_ids: list[uuid.UUID]
    assignments: list[Assignment]


class TimelineEvent(Out):
    """One event of an incident's timeline."""

    seq: int
    type: str = Field(examples=["incident.created", "assignment.updated"])
    at: Timestamp
    actor: str | None
    assignment_id: uuid.UUID | None
    before: dict[str, JsonValue] | None
    after: dict[str, JsonValue] | None


class Note(Out):
    """A note on an incident (append-only: a correction is a new note)."""

    id: uuid.UUID
    incident_id: uuid.UUID
    text: str
    author: str = Field(description="the author's username")
    role: Literal["operator", "supervisor", "agency"]
    agency_code: str | None = Field(description="the author's agency, for an agency account")
    at: Timestamp


class IncidentDetail(Incident):
    """GET /v1/incidents/{id}: the incident with its notes and its events, oldest first."""

    notes: list[Note]
    timeline: list[TimelineEvent]


class IncidentPage(Out):
    """A page of incidents, newest first."""

    items: list[Incident]
    next_cursor: str | None


class AssignmentPage(Out):
    """An agency's open assignments, priority first, then oldest first (one page)."""

    items: list[Assignment]
    next_cursor: None


# --- calls -------------------------------------------------------------------------------


class PossibleDuplicate(Out):
    """An open incident near the call's position: the same emergency, perhaps."""

    incident_id: uuid.UUID
    number: str
    category: str
    distance_m: float
    age_s: int


class RepeatCaller(Out):
    """What the caller's number did lately."""

    prank_or_ghost_24h: int


class NearbyIncident(Out):
    """An open incident near a point."""

    incident_id: uuid.UUID
    number: str
    category: str
    priority: int = Field(ge=1, le=4)
    status: IncidentStatus
    distance_m: float
    age_s: int


class NearbyIncidents(Out):
    """Open incidents near a point, nearest first."""

    items: list[NearbyIncident]


class PendingAml(Out):
    """A handset position (AML) that reached the center before the call."""

    id: uuid.UUID
    lat: float
    lon: float
    accuracy_m: float | None
    received_at: Timestamp


class CallerHistory(Out):
    """A caller's number as the center knows it: recent calls and a waiting AML."""

    caller_number: str = Field(examples=["+6281234567890"])
    calls_24h: int
    prank_or_ghost_24h: int
    pending_aml: PendingAml | None


class CallSummary(Out):
    """A call as the list shows it."""

    id: uuid.UUID
    received_at: Timestamp
    caller_number: str = Field(examples=["+6281234567890"])
    channel: Channel
    operator: str | None
    location: Location | None
    area: Area | None
    in_service_area: bool
    incident_id: uuid.UUID | None
    location_warnings: list[str]
    disposition: Disposition | None


class Call(CallSummary):
    """One call, with its incident, possible duplicates and the caller's recent pranks."""

    possible_duplicates: list[PossibleDuplicate]
    incident: Incident | None
    repeat_caller: RepeatCaller


class CallPage(Out):
    """A page of calls, newest first."""

    items: list[CallSummary]
    next_cursor: str | None


class AmlReceipt(Out):
    """POST /v1/aml: what became of one AML message (stored always)."""

    id: uuid.UUID
    stored: Literal[True]
    matched_call_id: uuid.UUID | None
    applied: bool = Field(description="the call took this position")
    warnings: list[str]
    distance_from_operator_location_m: float | None = Field(
        None, description="present when a typed position was kept: how far apart they are")


# --- agencies and categories -------------------------------------------------------------


class Station(Out):
    """An agency's station."""

    lat: float
    lon: float


Position = Annotated[list[float], Field(min_length=2, max_length=2,
                                        description="[lon, lat]")]


class MultiPolygon(Out):
    """A GeoJSON MultiPolygon (RFC 7946)."""

    type: Literal["MultiPolygon"]
    coordinates: list[list[list[Position]]]


class Agency(Out):
    """An agency: where its station is and what it covers."""

    code: str
    name: str
    kind: AgencyKind
    station: Station
    coverage: MultiPolygon | None
    active: bool
    is_fallback: bool
    phone: str | None
    contact: str | None


class Category(Out):
    """An incident category: the agency kinds it needs, in dispatch order."""

    code: str
    name: str
    name_id: str
    agency_kinds: list[AgencyKind]
    default_priority: Priority
    active: bool


# --- operations and log-in ---------------------------------------------------------------


class Token(Out):
    """A bearer token (OAuth2 password flow)."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds")


UnitKind = Literal["ambulance", "patrol", "fire_engine", "rescue", "other"]
UnitStatus = Literal["available", "dispatched", "en_route", "on_scene", "transporting",
                     "at_hospital", "returning", "out_of_service"]


class UnitPosition(Out):
    """A unit's newest fix."""

    lat: float
    lon: float
    accuracy_m: float | None
    speed_kmh: float | None
    heading: float | None
    at: Timestamp


class Unit(Out):
    """A vehicle or team of an agency (its tracker's device id is never shown)."""

    code: str
    agency_code: str
    kind: UnitKind
    name: str
    status: UnitStatus
    position: UnitPosition | None
    incident_id: uuid.UUID | None
    updated_at: Timestamp


class UnitPage(Out):
    """Units in code order, a page at a time."""

    items: list[Unit]
    next_cursor: str | None


class UnitRecommendation(Out):
    """An available unit near the incident: straight-line distance, and an ETA at the
    kind's average speed with a road factor of 1.3 (no road network)."""

    unit: Unit
    agency_kind: AgencyKind
    distance_m: float
    eta_s: int


class RejectedFix(Out):
    index: int = Field(description="the fix's place in the request, from 0")
    detail: str


class OsmandReceipt(Out):
    """A tracker's fix taken. `stored` false: the tracker had no fix (`valid=false`, or
    0, 0), or the fix's time made it unusable (`detail` says why)."""

    stored: bool
    detail: str | None = None


class PositionsReceipt(Out):
    """What a batch of fixes did: stored, moved units on, rejected one by one."""

    accepted: int = Field(description="fixes stored in the position history")
    current: int = Field(description="units whose newest position changed")
    rejected: list[RejectedFix]


Role = Literal["gateway", "operator", "supervisor", "agency", "admin"]


class User(Out):
    """An account (never its password or hash)."""

    id: uuid.UUID
    username: str
    role: Role
    agency_code: str | None = Field(description="the agency of an agency account, else null")
    active: bool
    created_at: Timestamp
    last_login_at: Timestamp | None


class UserPage(Out):
    """Accounts in username order, a page at a time."""

    items: list[User]
    next_cursor: str | None


class Health(Out):
    """The process is up."""

    status: Literal["ok"]


class Readiness(Out):
    """The database answers and its schema is at the migration head."""

    status: Literal["ready"]
    database: Literal["ok"]
    migration: str | None


# --- interoperability (dispatch/interop) ---------------------------------------------------

class AlertReceipt(Out):
    """A CAP message published: its identifier and where its document is."""

    identifier: str
    url: str = Field(description="GET it for the CAP 1.2 document (application/cap+xml)")
    msg_type: Literal["Alert", "Update", "Cancel"]
    references: str | None = Field(description="the identifier of the message it replaces")


class WarningArea(Out):
    """An area of the region a warning touches."""

    code: str
    name: str
    level: Literal["kecamatan", "kelurahan"]


class HazardWarning(Out):
    """A CAP warning received (BMKG's nowcast), with the region's areas it touches and
    its footprint (GeoJSON MultiPolygon, null when it named its areas only)."""

    id: uuid.UUID
    identifier: str
    sender: str
    sent_at: Timestamp
    msg_type: Literal["Alert", "Update", "Cancel"]
    event: str
    headline: str | None
    description: str | None
    instruction: str | None
    severity: str
    urgency: str
    certainty: str
    onset_at: Timestamp | None
    expires_at: Timestamp
    area_descs: list[str]
    areas: list[WarningArea]
    geometry: dict[str, JsonValue] | None
    received_at: Timestamp
    active: bool = Field(description="in force now: not expired, cancelled or superseded")


class HazardWarningList(Out):
    """Warnings, newest first."""

    items: list[HazardWarning]

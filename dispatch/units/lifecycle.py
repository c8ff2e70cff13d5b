"""The unit status machine (as data), unit kinds, and the speeds behind ETA estimates.

Pure: no database, no clock."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

UNIT_KINDS = ("ambulance", "patrol", "fire_engine", "rescue", "other")

AVAILABLE = "available"
DISPATCHED = "dispatched"
EN_ROUTE = "en_route"
ON_SCENE = "on_scene"
TRANSPORTING = "transporting"
AT_HOSPITAL = "at_hospital"
RETURNING = "returning"
OUT_OF_SERVICE = "out_of_service"

UNIT_STATUSES = (AVAILABLE, DISPATCHED, EN_ROUTE, ON_SCENE, TRANSPORTING, AT_HOSPITAL,
                 RETURNING, OUT_OF_SERVICE)
# While in one of these the unit works on its incident (`incident_id` is set).
ON_INCIDENT = frozenset({DISPATCHED, EN_ROUTE, ON_SCENE, TRANSPORTING, AT_HOSPITAL})
# Free to be sent: a unit returning to its station can be re-tasked on the way.
DISPATCHABLE = frozenset({AVAILABLE, RETURNING})

# `dispatched` is reached only by sending the unit to an incident
# (POST /v1/incidents/{id}/units), never by a bare status change.
TRANSITIONS: Mapping[str, frozenset[str]] = MappingProxyType({
    AVAILABLE: frozenset({DISPATCHED, OUT_OF_SERVICE}),
    DISPATCHED: frozenset({EN_ROUTE, ON_SCENE, AVAILABLE, OUT_OF_SERVICE}),
    EN_ROUTE: frozenset({ON_SCENE, AVAILABLE, OUT_OF_SERVICE}),
    ON_SCENE: frozenset({TRANSPORTING, RETURNING, AVAILABLE, OUT_OF_SERVICE}),
    TRANSPORTING: frozenset({AT_HOSPITAL, OUT_OF_SERVICE}),
    AT_HOSPITAL: frozenset({RETURNING, AVAILABLE, OUT_OF_SERVICE}),
    RETURNING: frozenset({AVAILABLE, DISPATCHED, OUT_OF_SERVICE}),
    OUT_OF_SERVICE: frozenset({AVAILABLE}),
})

# ETA = straight-line distance × ROAD_FACTOR at the kind's average speed: an estimate
# without a road network, stated as such in the API (README "Units").
ROAD_FACTOR = 1.3
SPEED_KMH = MappingProxyType({"ambulance": 45.0, "patrol": 45.0, "fire_engine": 35.0,
                              "rescue": 40.0, "other": 35.0})


class IllegalUnitTransition(Exception):
    def __init__(self, current: str, requested: str) -> None:
        self.current = current
        allowed = ", ".join(sorted(TRANSITIONS.get(current, ()))) or "nothing"
        super().__init__(f"a unit cannot go from {current!r} to {requested!r} "
                         f"(allowed from {current!r}: {allowed})")


def check_transition(current: str, requested: str) -> None:
    if requested not in TRANSITIONS.get(current, ()):
        raise IllegalUnitTransition(current, requested)


def eta_s(distance_m: float, kind: str) -> int:
    """Seconds to cover `distance_m` of straight line at the kind's average road speed."""
    speed_m_s = SPEED_KMH.get(kind, SPEED_KMH["other"]) / 3.6
    return round(distance_m * ROAD_FACTOR / speed_m_s)

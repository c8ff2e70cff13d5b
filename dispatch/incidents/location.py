"""An incident's position: the chosen point with the area it falls in, written onto a row
and shown in views."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, overload

from dispatch.models import Call, Incident
from geo.areas import AreaIndex
from geo.locate import Candidate
from geo.points import lon_lat, point_element


@dataclass(frozen=True)
class Located:
    """A chosen position with the area it falls in (area is None outside the region)."""

    lat: float
    lon: float
    accuracy_m: float | None
    source: str
    area_code: str | None
    area: dict[str, Any] | None


def location_view(row: Incident | Call) -> dict[str, Any] | None:
    if row.location is None:
        return None
    lon, lat = lon_lat(row.location)
    return {
        "lat": lat,
        "lon": lon,
        "accuracy_m": row.accuracy_m,
        "source": row.location_source,
    }


def set_location(row: Incident | Call, located: Located | None) -> None:
    """Copy a position (or its absence) onto an incident's or a call's columns."""
    if located is None:
        row.location = None
        row.location_source = row.accuracy_m = None
        row.area_code = row.area = None
        return
    row.location = point_element(located.lon, located.lat)
    row.location_source = located.source
    row.accuracy_m = located.accuracy_m
    row.area_code = located.area_code
    row.area = located.area


def point_of(incident: Incident) -> tuple[float | None, float | None]:
    if incident.location is None:
        return None, None
    lon, lat = lon_lat(incident.location)
    return lat, lon


@overload
def locate(areas: AreaIndex, candidate: Candidate) -> Located: ...


@overload
def locate(areas: AreaIndex, candidate: Candidate | None) -> Located | None: ...


def locate(areas: AreaIndex, candidate: Candidate | None) -> Located | None:
    if candidate is None:
        return None
    match = areas.locate(candidate.lat, candidate.lon)
    return Located(
        lat=candidate.lat,
        lon=candidate.lon,
        accuracy_m=candidate.accuracy_m,
        source=candidate.source,
        area_code=match.kelurahan.code if match else None,
        area=match.to_dict() if match else None,
    )



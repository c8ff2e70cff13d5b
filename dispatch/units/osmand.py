"""The OsmAnd protocol, as Traccar Client and other phone trackers speak it.

Two forms reach `/osmand`:
* query or form parameters (OsmAnd, Traccar Client before 9): `id` (or `deviceid`),
  `lat`, `lon` (or `location=lat,lon`), `timestamp` (POSIX seconds, milliseconds, or ISO
  8601), `speed` in knots, `bearing` (or `heading`) in degrees, `accuracy` in metres,
  `valid` (false: no fix, nothing stored; so is `lat=0&lon=0`);
* a JSON body (Traccar Client 9 and later): `{"device_id", "location": {"timestamp",
  "coords": {"latitude", "longitude", "accuracy", "speed" (m/s), "heading"}}}`.
Anything else the trackers add (battery, altitude, odometer...) is ignored."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from dispatch.core.errors import Invalid
from dispatch.units.positions import Fix, is_no_fix

# The rate-limit key of an address that sent unknown device ids (api/units.py).
UNKNOWN_DEVICE_KEY_PREFIX = "osmand-unknown:"

KNOT_KMH = 1.852


def _number(value: Any, name: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Invalid(f"{name} must be a number", field=name) from None
    if not math.isfinite(number) or not low <= number <= high:
        raise Invalid(f"{name} must be between {low:g} and {high:g}", field=name)
    return number


def _extra(value: Any, high: float) -> float | None:
    """An optional reading (speed, heading, accuracy): None when absent, unknown (trackers
    send -1) or not believable. Never an error: refusing the fix for a glitch in an extra
    would lose its position, and the tracker would resend it before any later one."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and 0 <= number <= high else None


def _time(value: Any, now: datetime) -> datetime:
    if value is None or value == "":
        return now
    text = str(value).strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise Invalid("timestamp must be POSIX seconds or ISO 8601",
                          field="timestamp") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if seconds > 1e11:  # milliseconds
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise Invalid("timestamp is out of range", field="timestamp") from None


def parse_parameters(params: Mapping[str, str], now: datetime) -> Fix | None:
    """The query/form form; None when the tracker has no fix (`valid=false`, or 0, 0)."""
    device_id = (params.get("id") or params.get("deviceid") or "").strip()
    if not device_id:
        raise Invalid("id (the device id) is required", field="id")
    if str(params.get("valid", "true")).lower() in ("false", "0"):
        return None
    lat, lon = params.get("lat"), params.get("lon")
    if (lat is None or lon is None) and params.get("location"):
        lat, _, lon = str(params["location"]).partition(",")
    if lat is None or lon is None:
        raise Invalid("lat and lon (or location=lat,lon) are required", field="lat")
    lat_deg, lon_deg = _number(lat, "lat", -90, 90), _number(lon, "lon", -180, 180)
    if is_no_fix(lat_deg, lon_deg):
        return None  # answered 200: a 4xx would make the tracker resend it forever
    speed_knots = _extra(params.get("speed"), 600)
    return Fix(
        device_id=device_id, lat=lat_deg, lon=lon_deg,
        at=_time(params.get("timestamp"), now),
        accuracy_m=_extra(params.get("accuracy") or params.get("hdop"), 100_000),
        speed_kmh=None if speed_knots is None else round(speed_knots * KNOT_KMH, 2),
        heading=_extra(params.get("bearing") or params.get("heading"), 360),
    )


def parse_json(body: Any, now: datetime) -> Fix | None:
    """The JSON form of Traccar Client 9+; None at (0, 0), as for the parameters."""
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object")
    device_id = str(body.get("device_id") or "").strip()
    if not device_id:
        raise Invalid("device_id is required", field="device_id")
    location = body.get("location")
    if not isinstance(location, dict) or not isinstance(location.get("coords"), dict):
        raise Invalid("location.coords is required", field="location")
    coords = location["coords"]
    lat = _number(coords.get("latitude"), "latitude", -90, 90)
    lon = _number(coords.get("longitude"), "longitude", -180, 180)
    if is_no_fix(lat, lon):
        return None
    speed_m_s = _extra(coords.get("speed"), 200)
    return Fix(
        device_id=device_id, lat=lat, lon=lon,
        at=_time(location.get("timestamp"), now),
        accuracy_m=_extra(coords.get("accuracy"), 100_000),
        speed_kmh=None if speed_m_s is None else round(speed_m_s * 3.6, 2),
        heading=_extra(coords.get("heading"), 360),
    )

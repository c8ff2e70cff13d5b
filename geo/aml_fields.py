"""Field validators shared by the AML SMS and HTTPS parsers.

Each returns None for an absent or invalid value and, when the value was present but invalid,
appends an English sentence to `warnings`, so one broken field never loses the others.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_INT_RE = re.compile(r"[+-]?\d{1,15}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INDONESIA_LAT = (-11.0, 6.0)
_INDONESIA_LON = (95.0, 141.0)


def parse_number(raw: str | None, label: str, warnings: list[str]) -> float | None:
    if raw is None:
        return None
    if _NUMBER_RE.fullmatch(raw) and math.isfinite(value := float(raw)):
        return value
    warnings.append(f"{label} {raw!r} is not a number.")
    return None


def parse_integer(raw: str | None, label: str, warnings: list[str]) -> int | None:
    if raw is None:
        return None
    if _INT_RE.fullmatch(raw):
        return int(raw)
    warnings.append(f"{label} {raw!r} is not a whole number.")
    return None


def parse_coordinates(
    lat_raw: str | None, lon_raw: str | None, warnings: list[str]
) -> tuple[float | None, float | None]:
    """Parse and range-check; out of range becomes None (never a wrong point on the map)."""
    lat = parse_number(lat_raw, "Latitude", warnings)
    lon = parse_number(lon_raw, "Longitude", warnings)
    if lat is not None and lon is not None and _looks_swapped(lat, lon):
        warnings.append(
            f"Latitude {lat_raw} and longitude {lon_raw} look swapped: exchanged they would lie "
            "in Indonesia. They were not exchanged."
        )
    if lat is not None and not -90 <= lat <= 90:
        warnings.append(f"Latitude {lat_raw} is outside -90..90.")
        lat = None
    if lon is not None and not -180 <= lon <= 180:
        warnings.append(f"Longitude {lon_raw} is outside -180..180.")
        lon = None
    return lat, lon


def _looks_swapped(lat: float, lon: float) -> bool:
    in_lat_band = _INDONESIA_LAT[0] <= lon <= _INDONESIA_LAT[1]
    in_lon_band = _INDONESIA_LON[0] <= lat <= _INDONESIA_LON[1]
    return in_lat_band and in_lon_band


def usable_position(
    lat: float | None, lon: float | None, *, no_location: bool, warnings: list[str]
) -> bool:
    if lat is None or lon is None:
        return False
    if no_location:
        if (lat, lon) != (0.0, 0.0):
            warnings.append("Coordinates were sent with 'no location' (pm=N or rd=N); ignored.")
        return False
    if (lat, lon) == (0.0, 0.0):
        warnings.append("Position 0,0 is a placeholder, not a location; ignored.")
        return False
    return True


def parse_radius(
    raw: str | None, warnings: list[str], *, label: str = "Radius", zero_is_unknown: bool = False
) -> float | None:
    value = parse_number(raw, label, warnings)
    if value is not None and value < 0:
        warnings.append(f"{label} {raw} m is negative.")
        return None
    if zero_is_unknown and value == 0:
        return None
    return value


def parse_percentage(raw: str | None, label: str, warnings: list[str]) -> int | None:
    if raw is None:
        return None
    if re.fullmatch(r"\d{1,3}", raw) and int(raw) <= 100:
        return int(raw)
    warnings.append(f"{label} {raw!r} is not a whole percentage 0..100.")
    return None


def check_identifier(
    raw: str | None, label: str, warnings: list[str], lengths: tuple[int, ...] = ()
) -> str | None:
    """IMSI, IMEI, MCC, MNC: kept as text (leading zeros matter) even when flagged."""
    if raw is not None and not (raw.isascii() and raw.isdigit()):
        warnings.append(f"{label} {raw!r} is not all digits.")
    elif raw is not None and lengths and len(raw) not in lengths:
        warnings.append(f"{label} {raw!r} should have {' or '.join(map(str, lengths))} digits.")
    return raw


def from_unix_ms(ms: int | None, label: str, warnings: list[str]) -> datetime | None:
    if ms is None:
        return None
    try:
        return _EPOCH + timedelta(milliseconds=ms)
    except OverflowError:
        warnings.append(f"{label} {ms} is out of range.")
        return None

"""AML over HTTPS: the Android ELS / EENA form POST, optionally signed with a hex HMAC-SHA1."""

from __future__ import annotations

import hashlib
import hmac

from geo.aml_fields import (
    check_identifier,
    from_unix_ms,
    parse_coordinates,
    parse_integer,
    parse_number,
    parse_percentage,
    parse_radius,
    usable_position,
)
from geo.aml_fix import AmlFix

_HTTPS_METHODS = frozenset({"gps", "wifi", "cell", "unknown"})
# Fields of the Android ELS / EENA HTTPS form. The spec lets handsets add fields, so keys outside
# this set are ignored silently; the set only serves to recognise the transport.
HTTPS_KEYS = frozenset({
    "v", "emergency_number", "source", "thunderbird_version", "time", "location_latitude",
    "location_longitude", "location_time", "location_altitude", "location_altitude_msl",
    "location_floor", "location_source", "location_accuracy", "location_vertical_accuracy",
    "location_certainty", "location_confidence", "location_bearing", "location_speed",
    "device_number", "device_model", "device_imsi", "device_imei", "device_iccid", "device_os",
    "device_languages", "cell_carrier", "cell_home_mcc", "cell_home_mnc", "cell_network_mcc",
    "cell_network_mnc", "cell_id", "hmac",
})  # fmt: skip


def parse_https(text: str, pairs: list[tuple[str, str]], hmac_key: bytes | None) -> AmlFix:
    """Form fields are named, so an unknown `v` is flagged but the fields are still read."""
    warnings: list[str] = []
    got: dict[str, str] = {}
    seen: set[str] = set()
    for key, value in pairs:
        if key in seen:
            warnings.append(f"Key {key!r} appears more than once; the first value was used.")
        elif value.strip():  # empty values (cell_carrier=) are legal and mean "absent"
            got[key] = value.strip()
        seen.add(key)
    version = got.get("v")
    if version not in (None, "1"):
        warnings.append(f"Unsupported HTTPS AML version {version!r}; fields were read as v1.")
    lat, lon = parse_coordinates(
        got.get("location_latitude"), got.get("location_longitude"), warnings
    )
    method = got["location_source"].lower() if "location_source" in got else None
    if method is not None and method not in _HTTPS_METHODS:
        warnings.append(
            f"Unknown location source {method!r} (expected gps, wifi, cell or unknown)."
        )
    call_start_ms = parse_integer(got.get("time"), "Call time (Unix ms)", warnings)
    return AmlFix(
        "https-form-urlencoded-v1" if version in (None, "1") else "https-form-urlencoded",
        version=version,
        lat=lat,
        lon=lon,
        radius_m=parse_radius(got.get("location_accuracy"), warnings),
        time_of_positioning_utc=from_unix_ms(
            parse_integer(got.get("location_time"), "Location time (Unix ms)", warnings),
            "Location time",
            warnings,
        ),
        level_of_confidence_pct=parse_percentage(
            got.get("location_certainty"), "Location certainty", warnings
        ),
        positioning_method=method,
        imsi=check_identifier(got.get("device_imsi"), "IMSI", warnings),
        imei=check_identifier(got.get("device_imei"), "IMEI", warnings),
        mcc=check_identifier(got.get("cell_network_mcc"), "MCC", warnings, lengths=(3,)),
        mnc=check_identifier(got.get("cell_network_mnc"), "MNC", warnings, lengths=(2, 3)),
        home_mcc=check_identifier(got.get("cell_home_mcc"), "Home MCC", warnings, lengths=(3,)),
        home_mnc=check_identifier(got.get("cell_home_mnc"), "Home MNC", warnings, lengths=(2, 3)),
        altitude_m=parse_number(got.get("location_altitude"), "Altitude", warnings),
        vertical_accuracy_m=parse_radius(
            got.get("location_vertical_accuracy"), warnings, label="Vertical accuracy"
        ),
        floor=got.get("location_floor"),
        emergency_number=got.get("emergency_number"),
        call_start_epoch_s=None if call_start_ms is None else call_start_ms // 1000,
        languages=got.get("device_languages"),
        caller_number=got.get("device_number"),
        hmac_ok=_check_hmac(text, hmac_key, warnings),
        has_position=usable_position(lat, lon, no_location=False, warnings=warnings),
        warnings=tuple(warnings),
    )


def _check_hmac(text: str, key: bytes | None, warnings: list[str]) -> bool | None:
    """The HMAC covers everything before `&hmac=`, so it must be the last field."""
    if key is None:
        return None
    body, found, claimed = text.partition("&hmac=")
    if not found:
        warnings.append("An HMAC key is configured but the message has no trailing hmac field.")
        return False
    if "&" in claimed:
        warnings.append("Fields follow the hmac field and are not covered by it; HMAC rejected.")
        return False
    computed = hmac.new(key, body.encode("utf-8"), hashlib.sha1).hexdigest()
    if hmac.compare_digest(computed.encode(), claimed.lower().encode("utf-8")):
        return True
    warnings.append("HMAC does not match: the message was altered or the key is wrong.")
    return False

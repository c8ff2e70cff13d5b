"""AML over SMS text: ETSI TS 103 625 (`A"ML=1;...`) and the Android ELS beta (`A"ML=2;...`).

The two versions share the `k=v;k=v` syntax but their keys mean different things, so the
version in the header decides how every other field is read.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

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

SMS_HEADER = 'A"ML='
_V1_KEYS = frozenset({"lt", "lg", "rd", "top", "lc", "pm", "si", "ei", "mcc", "mnc", "ml"})
_V2_KEYS = frozenset({"en", "et", "lo", "lt", "lc", "lz", "ls", "ei", "nc", "hc", "lg"})
_V1_METHODS = frozenset("GWCN")
_V2_METHODS = frozenset("GWCFU")


def parse_sms(text: str, data_transport: str | None = None) -> AmlFix:
    """`text` starts with `A"ML=`; the version decides what every other key means."""
    header, _, body = text.partition(";")
    version = header.removeprefix(SMS_HEADER)
    parser = {"1": _parse_sms_v1, "2": _parse_sms_v2}.get(version)
    transport = data_transport or (f"sms-text-v{version}" if parser else "sms-text")
    if parser is None:
        warning = (
            f"Unsupported AML version {version!r}: fields were not interpreted because "
            "their meaning depends on the version."
        )
        return AmlFix(transport, version=version, actual_length=len(text), warnings=(warning,))
    return parser(text, body, transport)


def _sms_fields(body: str, known: frozenset[str], warnings: list[str]) -> dict[str, str]:
    """Split `k=v;k=v`; the first value of a key wins. Empty values count as absent."""
    found: dict[str, str] = {}
    seen: set[str] = set()
    pairs = body.split(";") if body else []
    if empty := pairs.count(""):
        warnings.append(f"{empty} empty field(s) between ';' separators ignored.")
    for pair in filter(None, pairs):
        key, sep, value = pair.partition("=")
        if not sep or not key or "=" in value:
            warnings.append(f"Malformed key=value pair {pair!r} ignored.")
        elif key not in known:
            warnings.append(f"Unknown key {key!r} ignored.")
        elif key in seen:
            warnings.append(f"Key {key!r} appears more than once; the first value was used.")
        elif not value:
            warnings.append(f"Field {key!r} is empty.")
        else:
            found[key] = value
        seen.add(key)
    if not found:
        warnings.append("No AML fields found after the header.")
    return found


def _parse_sms_v1(text: str, body: str, transport: str) -> AmlFix:
    warnings: list[str] = []
    got = _sms_fields(body, _V1_KEYS, warnings)
    lat, lon = parse_coordinates(got.get("lt"), got.get("lg"), warnings)
    rd, pm = got.get("rd"), got.get("pm")
    radius = None if rd in (None, "N") else parse_radius(rd, warnings)
    if pm is not None and pm not in _V1_METHODS:
        warnings.append(f"Unknown positioning method {pm!r} (expected G, W, C or N).")
    declared = parse_integer(got.get("ml"), "Declared length ml", warnings)
    matches = None if declared is None else declared == len(text)
    if matches is False:
        warnings.append(
            f"Declared length ml={declared} does not match the actual length {len(text)}; "
            "the position was kept."
        )
    return AmlFix(
        transport,
        version="1",
        lat=lat,
        lon=lon,
        radius_m=radius,
        time_of_positioning_utc=_sms_time(got.get("top"), warnings),
        level_of_confidence_pct=parse_percentage(got.get("lc"), "Level of confidence", warnings),
        positioning_method=pm,
        imsi=check_identifier(got.get("si"), "IMSI", warnings),
        imei=check_identifier(got.get("ei"), "IMEI", warnings),
        mcc=check_identifier(got.get("mcc"), "MCC", warnings, lengths=(3,)),
        mnc=check_identifier(got.get("mnc"), "MNC", warnings, lengths=(2, 3)),
        declared_length_ml=declared,
        actual_length=len(text),
        length_matches=matches,
        has_position=usable_position(lat, lon, no_location="N" in (pm, rd), warnings=warnings),
        warnings=tuple(warnings),
    )


def _parse_sms_v2(text: str, body: str, transport: str) -> AmlFix:
    """ELS beta: `lo`=lat,lon,accuracy; `lt`=seconds after `et`; `lg`=languages; `nc`=MCC+MNC."""
    warnings: list[str] = []
    got = _sms_fields(body, _V2_KEYS, warnings)
    lat_raw, lon_raw, accuracy_raw = _split_tuple(got.get("lo"), 3, "Location lo", warnings)
    lat, lon = parse_coordinates(lat_raw, lon_raw, warnings)
    altitude_raw, vertical_raw = _split_tuple(got.get("lz"), 2, "Vertical location lz", warnings)
    method = got.get("ls")
    if method is not None and method not in _V2_METHODS:
        warnings.append(f"Unknown positioning method {method!r} (expected G, W, C, F or U).")
    call_start = parse_integer(got.get("et"), "Call start time et", warnings)
    offset = parse_integer(got.get("lt"), "Location time offset lt", warnings)
    located_at = None
    if call_start is not None and offset is not None:
        located_at = from_unix_ms((call_start + offset) * 1000, "Location time et+lt", warnings)
    network_mcc, network_mnc = _mcc_mnc(got.get("nc"), "Network code nc", warnings)
    home_mcc, home_mnc = _mcc_mnc(got.get("hc"), "Home network code hc", warnings)
    return AmlFix(
        transport,
        version="2",
        lat=lat,
        lon=lon,
        radius_m=parse_radius(accuracy_raw, warnings, zero_is_unknown=True),
        time_of_positioning_utc=located_at,
        level_of_confidence_pct=parse_percentage(got.get("lc"), "Level of confidence", warnings),
        positioning_method=method,
        imei=check_identifier(got.get("ei"), "IMEI", warnings),
        mcc=network_mcc,
        mnc=network_mnc,
        home_mcc=home_mcc,
        home_mnc=home_mnc,
        altitude_m=parse_number(altitude_raw, "Altitude", warnings),
        vertical_accuracy_m=parse_radius(
            vertical_raw, warnings, label="Vertical accuracy", zero_is_unknown=True
        ),
        emergency_number=got.get("en"),
        call_start_epoch_s=call_start,
        languages=got.get("lg"),
        actual_length=len(text),
        has_position=usable_position(lat, lon, no_location=False, warnings=warnings),
        warnings=tuple(warnings),
    )


def _sms_time(raw: str | None, warnings: list[str]) -> datetime | None:
    if raw is None:
        return None
    if re.fullmatch(r"\d{14}", raw):
        try:
            return datetime.strptime(raw, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        except ValueError:
            pass
    warnings.append(f"Time of positioning {raw!r} is not a UTC time YYYYMMDDhhmmss.")
    return None


def _split_tuple(
    raw: str | None, size: int, label: str, warnings: list[str]
) -> tuple[str | None, ...]:
    if raw is None:
        return (None,) * size
    parts = raw.split(",")
    if len(parts) != size:
        warnings.append(f"{label} {raw!r} does not have {size} comma-separated values.")
        return (None,) * size
    return tuple(parts)


def _mcc_mnc(raw: str | None, label: str, warnings: list[str]) -> tuple[str | None, str | None]:
    if raw is None:
        return None, None
    if not re.fullmatch(r"\d{5,6}", raw):
        warnings.append(f"{label} {raw!r} is not MCC+MNC (5 or 6 digits).")
        return None, None
    return raw[:3], raw[3:]

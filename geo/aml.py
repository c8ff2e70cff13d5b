"""Advanced Mobile Location (AML): parse what a handset sends after an emergency call.

Transports: ETSI TS 103 625 text SMS (`A"ML=1;...`), the Android ELS "beta" SMS (`A"ML=2;...`,
whose keys mean other things), binary data SMS (GSM 03.38 7-bit packed, as hex or base64 text, or
as raw bytes) and the HTTPS form POST (optionally signed with a hex HMAC-SHA1).

`parse_aml` never raises on bad input: a caller's position must not be lost because one field is
wrong, so every problem becomes an English sentence in `AmlFix.warnings` and only the broken field
is dropped. A position is offered (`has_position`) only when it is usable: never for "no location"
messages (pm=N / rd=N), missing or out-of-range coordinates, or the 0,0 placeholder.
"""

import base64
import binascii
import hashlib
import hmac
import math
import re
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

__all__ = ["AmlFix", "parse_aml"]

MAX_INPUT_CHARS = 16_384
"""Longer input is not an AML message (an SMS is < 1 KiB, an HTTPS form a few KiB)."""

_SMS_HEADER = 'A"ML='
_V1_KEYS = frozenset({"lt", "lg", "rd", "top", "lc", "pm", "si", "ei", "mcc", "mnc", "ml"})
_V2_KEYS = frozenset({"en", "et", "lo", "lt", "lc", "lz", "ls", "ei", "nc", "hc", "lg"})
_V1_METHODS = frozenset("GWCN")
_V2_METHODS = frozenset("GWCFU")
_HTTPS_METHODS = frozenset({"gps", "wifi", "cell", "unknown"})
# Fields of the Android ELS / EENA HTTPS form. The spec lets handsets add fields, so keys outside
# this set are ignored silently; the set only serves to recognise the transport.
_HTTPS_KEYS = frozenset({
    "v", "emergency_number", "source", "thunderbird_version", "time", "location_latitude",
    "location_longitude", "location_time", "location_altitude", "location_altitude_msl",
    "location_floor", "location_source", "location_accuracy", "location_vertical_accuracy",
    "location_certainty", "location_confidence", "location_bearing", "location_speed",
    "device_number", "device_model", "device_imsi", "device_imei", "device_iccid", "device_os",
    "device_languages", "cell_carrier", "cell_home_mcc", "cell_home_mnc", "cell_network_mcc",
    "cell_network_mnc", "cell_id", "hmac",
})  # fmt: skip

_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_INT_RE = re.compile(r"[+-]?\d{1,15}")
_HEX_RE = re.compile(r"(?:[0-9A-Fa-f]{2})+")
_BASE64_RE = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNRECOGNISED = (
    'Unrecognised message: not an AML SMS (A"ML=...), a GSM 7-bit data SMS (hex or base64) '
    "or an HTTPS AML form."
)
_INDONESIA_LAT = (-11.0, 6.0)
_INDONESIA_LON = (95.0, 141.0)


@dataclass(frozen=True, slots=True)
class AmlFix:
    """One parsed AML message. Field names follow the sample files' `expected` blocks."""

    transport: str
    version: str | None = None
    lat: float | None = None
    lon: float | None = None
    radius_m: float | None = None
    time_of_positioning_utc: datetime | None = None
    level_of_confidence_pct: int | None = None
    positioning_method: str | None = None
    imsi: str | None = None
    imei: str | None = None
    mcc: str | None = None  # serving network
    mnc: str | None = None
    home_mcc: str | None = None
    home_mnc: str | None = None
    altitude_m: float | None = None
    vertical_accuracy_m: float | None = None
    floor: str | None = None
    emergency_number: str | None = None  # the number dialled (112), not the caller's
    call_start_epoch_s: int | None = None
    languages: str | None = None
    declared_length_ml: int | None = None
    actual_length: int | None = None
    length_matches: bool | None = None
    caller_number: str | None = None
    hmac_ok: bool | None = None  # None: not checked (no key given, or not HTTPS)
    has_position: bool = False
    warnings: tuple[str, ...] = ()

    # Aliases under the HTTPS / ELS v2 names used by the samples; one value, two names.
    @property
    def network_mcc(self) -> str | None:
        return self.mcc

    @property
    def network_mnc(self) -> str | None:
        return self.mnc

    @property
    def location_time_utc(self) -> datetime | None:
        return self.time_of_positioning_utc

    @property
    def device_number(self) -> str | None:
        return self.caller_number

    @property
    def hmac_valid(self) -> bool | None:
        return self.hmac_ok

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict of every field and alias; times as ISO 8601 with a `Z`."""
        out: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)}
        for alias in ("network_mcc", "network_mnc", "location_time_utc", "device_number"):
            out[alias] = getattr(self, alias)
        out["hmac_valid"] = self.hmac_ok
        out["warnings"] = list(self.warnings)
        for key, value in out.items():
            if isinstance(value, datetime):
                spec = "milliseconds" if value.microsecond else "seconds"
                out[key] = value.isoformat(timespec=spec).replace("+00:00", "Z")
        return out


def parse_aml(raw: str | bytes, *, hmac_key: bytes | None = None) -> AmlFix:
    """Detect the transport of `raw` and parse it; problems become warnings, never exceptions.

    `hmac_key` is the shared secret for HTTPS messages; without it `hmac_ok` stays None.
    Surrounding whitespace (a gateway's trailing newline) is not part of the message or its ml.
    """
    if isinstance(raw, bytes | bytearray):
        return _parse_bytes(bytes(raw), hmac_key)
    if not isinstance(raw, str):
        raise TypeError(f"parse_aml expects str or bytes, not {type(raw).__name__}")
    text = raw.strip()
    if problem := _size_problem(text):
        return _unparsed(problem)
    return _parse_text(text, hmac_key) or _unparsed(_UNRECOGNISED)


def _size_problem(text: str) -> str | None:
    if not text:
        return "Empty message: nothing to parse."
    if len(text) > MAX_INPUT_CHARS:
        return f"Message is {len(text)} characters long (limit {MAX_INPUT_CHARS}); not parsed."
    return None


def _unparsed(warning: str) -> AmlFix:
    return AmlFix(transport="unknown", warnings=(warning,))


def _parse_bytes(data: bytes, hmac_key: bytes | None) -> AmlFix:
    """Bytes are UTF-8 text of any transport, or else the packed user data of a data SMS."""
    try:
        text: str | None = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        text = None
    if text is not None:
        if problem := _size_problem(text):
            return _unparsed(problem)
        if fix := _parse_text(text, hmac_key):
            return fix
    if len(data) <= MAX_INPUT_CHARS and (decoded := _gsm7_decode(data)).startswith(_SMS_HEADER):
        return _parse_sms(decoded, data_transport="sms-data-gsm7-binary")
    return _unparsed(_UNRECOGNISED)


def _parse_text(text: str, hmac_key: bytes | None) -> AmlFix | None:
    """Branch on the header first; None when no transport matches."""
    if text.startswith(_SMS_HEADER):
        return _parse_sms(text)
    if _HEX_RE.fullmatch(text):
        decoded = _gsm7_decode(bytes.fromhex(text))
        if decoded.startswith(_SMS_HEADER):
            return _parse_sms(decoded, data_transport="sms-data-gsm7-hex")
    if len(text) % 4 == 0 and _BASE64_RE.fullmatch(text):
        try:
            decoded = _gsm7_decode(base64.b64decode(text, validate=True))
        except binascii.Error:
            decoded = ""
        if decoded.startswith(_SMS_HEADER):
            return _parse_sms(decoded, data_transport="sms-data-gsm7-base64")
    pairs = parse_qsl(text, keep_blank_values=True)
    if any(key in _HTTPS_KEYS for key, _ in pairs):
        return _parse_https(text, pairs, hmac_key)
    return None


# --- GSM 03.38 data SMS -------------------------------------------------------------------------
# Hand-written: the PyPI codec (gsm0338) maps characters but does not unpack septets, and the
# packages that do (smspdu, pdusms) are unmaintained SMS-PDU toolkits; this is ~25 lines.

_GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = {
    0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[", 0x3D: "~", 0x3E: "]",
    0x40: "|", 0x65: "€",
}  # fmt: skip
_GSM7_ESCAPE = 0x1B


def _gsm7_septets(data: bytes) -> list[int]:
    """Unpack 7-bit septets, least significant bit first (3GPP TS 23.038 §6.1.2.1.1)."""
    septets: list[int] = []
    carry = carry_bits = 0
    for byte in data:
        septets.append(((byte << carry_bits) | carry) & 0x7F)
        carry = byte >> (7 - carry_bits)
        carry_bits += 1
        if carry_bits == 7:  # seven octets hold eight septets
            septets.append(carry)
            carry = carry_bits = 0
    # With a multiple of 7 octets the last septet may be fill bits (CR per the spec, or zeros).
    # A real '@'/CR cannot end an AML message, so dropping it is safe here.
    if data and len(data) % 7 == 0 and septets[-1] in (0x00, 0x0D):
        septets.pop()
    return septets


def _gsm7_decode(data: bytes) -> str:
    chars: list[str] = []
    escaped = False
    for septet in _gsm7_septets(data):
        if escaped:
            chars.append(_GSM7_EXTENSION.get(septet, _GSM7_BASIC[septet]))
            escaped = False
        elif septet == _GSM7_ESCAPE:
            escaped = True
        else:
            chars.append(_GSM7_BASIC[septet])
    return "".join(chars)


# --- SMS ----------------------------------------------------------------------------------------


def _parse_sms(text: str, data_transport: str | None = None) -> AmlFix:
    """`text` starts with `A"ML=`; the version decides what every other key means."""
    header, _, body = text.partition(";")
    version = header.removeprefix(_SMS_HEADER)
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
    lat, lon = _coordinates(got.get("lt"), got.get("lg"), warnings)
    rd, pm = got.get("rd"), got.get("pm")
    radius = None if rd in (None, "N") else _radius(rd, warnings)
    if pm is not None and pm not in _V1_METHODS:
        warnings.append(f"Unknown positioning method {pm!r} (expected G, W, C or N).")
    declared = _integer(got.get("ml"), "Declared length ml", warnings)
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
        level_of_confidence_pct=_percentage(got.get("lc"), "Level of confidence", warnings),
        positioning_method=pm,
        imsi=_identifier(got.get("si"), "IMSI", warnings),
        imei=_identifier(got.get("ei"), "IMEI", warnings),
        mcc=_identifier(got.get("mcc"), "MCC", warnings, lengths=(3,)),
        mnc=_identifier(got.get("mnc"), "MNC", warnings, lengths=(2, 3)),
        declared_length_ml=declared,
        actual_length=len(text),
        length_matches=matches,
        has_position=_usable(lat, lon, no_location="N" in (pm, rd), warnings=warnings),
        warnings=tuple(warnings),
    )


def _parse_sms_v2(text: str, body: str, transport: str) -> AmlFix:
    """ELS beta: `lo`=lat,lon,accuracy; `lt`=seconds after `et`; `lg`=languages; `nc`=MCC+MNC."""
    warnings: list[str] = []
    got = _sms_fields(body, _V2_KEYS, warnings)
    lat_raw, lon_raw, accuracy_raw = _split_tuple(got.get("lo"), 3, "Location lo", warnings)
    lat, lon = _coordinates(lat_raw, lon_raw, warnings)
    altitude_raw, vertical_raw = _split_tuple(got.get("lz"), 2, "Vertical location lz", warnings)
    method = got.get("ls")
    if method is not None and method not in _V2_METHODS:
        warnings.append(f"Unknown positioning method {method!r} (expected G, W, C, F or U).")
    call_start = _integer(got.get("et"), "Call start time et", warnings)
    offset = _integer(got.get("lt"), "Location time offset lt", warnings)
    located_at = None
    if call_start is not None and offset is not None:
        located_at = _from_unix_ms((call_start + offset) * 1000, "Location time et+lt", warnings)
    network_mcc, network_mnc = _mcc_mnc(got.get("nc"), "Network code nc", warnings)
    home_mcc, home_mnc = _mcc_mnc(got.get("hc"), "Home network code hc", warnings)
    return AmlFix(
        transport,
        version="2",
        lat=lat,
        lon=lon,
        radius_m=_radius(accuracy_raw, warnings, zero_is_unknown=True),
        time_of_positioning_utc=located_at,
        level_of_confidence_pct=_percentage(got.get("lc"), "Level of confidence", warnings),
        positioning_method=method,
        imei=_identifier(got.get("ei"), "IMEI", warnings),
        mcc=network_mcc,
        mnc=network_mnc,
        home_mcc=home_mcc,
        home_mnc=home_mnc,
        altitude_m=_number(altitude_raw, "Altitude", warnings),
        vertical_accuracy_m=_radius(
            vertical_raw, warnings, label="Vertical accuracy", zero_is_unknown=True
        ),
        emergency_number=got.get("en"),
        call_start_epoch_s=call_start,
        languages=got.get("lg"),
        actual_length=len(text),
        has_position=_usable(lat, lon, no_location=False, warnings=warnings),
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


# --- HTTPS --------------------------------------------------------------------------------------


def _parse_https(text: str, pairs: list[tuple[str, str]], hmac_key: bytes | None) -> AmlFix:
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
    lat, lon = _coordinates(got.get("location_latitude"), got.get("location_longitude"), warnings)
    method = got["location_source"].lower() if "location_source" in got else None
    if method is not None and method not in _HTTPS_METHODS:
        warnings.append(
            f"Unknown location source {method!r} (expected gps, wifi, cell or unknown)."
        )
    call_start_ms = _integer(got.get("time"), "Call time (Unix ms)", warnings)
    return AmlFix(
        "https-form-urlencoded-v1" if version in (None, "1") else "https-form-urlencoded",
        version=version,
        lat=lat,
        lon=lon,
        radius_m=_radius(got.get("location_accuracy"), warnings),
        time_of_positioning_utc=_from_unix_ms(
            _integer(got.get("location_time"), "Location time (Unix ms)", warnings),
            "Location time",
            warnings,
        ),
        level_of_confidence_pct=_percentage(
            got.get("location_certainty"), "Location certainty", warnings
        ),
        positioning_method=method,
        imsi=_identifier(got.get("device_imsi"), "IMSI", warnings),
        imei=_identifier(got.get("device_imei"), "IMEI", warnings),
        mcc=_identifier(got.get("cell_network_mcc"), "MCC", warnings, lengths=(3,)),
        mnc=_identifier(got.get("cell_network_mnc"), "MNC", warnings, lengths=(2, 3)),
        home_mcc=_identifier(got.get("cell_home_mcc"), "Home MCC", warnings, lengths=(3,)),
        home_mnc=_identifier(got.get("cell_home_mnc"), "Home MNC", warnings, lengths=(2, 3)),
        altitude_m=_number(got.get("location_altitude"), "Altitude", warnings),
        vertical_accuracy_m=_radius(
            got.get("location_vertical_accuracy"), warnings, label="Vertical accuracy"
        ),
        floor=got.get("location_floor"),
        emergency_number=got.get("emergency_number"),
        call_start_epoch_s=None if call_start_ms is None else call_start_ms // 1000,
        languages=got.get("device_languages"),
        caller_number=got.get("device_number"),
        hmac_ok=_check_hmac(text, hmac_key, warnings),
        has_position=_usable(lat, lon, no_location=False, warnings=warnings),
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


# --- Field validators: each returns None for an absent or invalid value, warning if invalid ----


def _number(raw: str | None, label: str, warnings: list[str]) -> float | None:
    if raw is None:
        return None
    if _NUMBER_RE.fullmatch(raw) and math.isfinite(value := float(raw)):
        return value
    warnings.append(f"{label} {raw!r} is not a number.")
    return None


def _integer(raw: str | None, label: str, warnings: list[str]) -> int | None:
    if raw is None:
        return None
    if _INT_RE.fullmatch(raw):
        return int(raw)
    warnings.append(f"{label} {raw!r} is not a whole number.")
    return None


def _coordinates(
    lat_raw: str | None, lon_raw: str | None, warnings: list[str]
) -> tuple[float | None, float | None]:
    """Parse and range-check; out of range becomes None (never a wrong point on the map)."""
    lat = _number(lat_raw, "Latitude", warnings)
    lon = _number(lon_raw, "Longitude", warnings)
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


def _usable(
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


def _radius(
    raw: str | None, warnings: list[str], *, label: str = "Radius", zero_is_unknown: bool = False
) -> float | None:
    value = _number(raw, label, warnings)
    if value is not None and value < 0:
        warnings.append(f"{label} {raw} m is negative.")
        return None
    if zero_is_unknown and value == 0:
        return None
    return value


def _percentage(raw: str | None, label: str, warnings: list[str]) -> int | None:
    if raw is None:
        return None
    if re.fullmatch(r"\d{1,3}", raw) and int(raw) <= 100:
        return int(raw)
    warnings.append(f"{label} {raw!r} is not a whole percentage 0..100.")
    return None


def _identifier(
    raw: str | None, label: str, warnings: list[str], lengths: tuple[int, ...] = ()
) -> str | None:
    """IMSI, IMEI, MCC, MNC: kept as text (leading zeros matter) even when flagged."""
    if raw is not None and not (raw.isascii() and raw.isdigit()):
        warnings.append(f"{label} {raw!r} is not all digits.")
    elif raw is not None and lengths and len(raw) not in lengths:
        warnings.append(f"{label} {raw!r} should have {' or '.join(map(str, lengths))} digits.")
    return raw


def _from_unix_ms(ms: int | None, label: str, warnings: list[str]) -> datetime | None:
    if ms is None:
        return None
    try:
        return _EPOCH + timedelta(milliseconds=ms)
    except OverflowError:
        warnings.append(f"{label} {ms} is out of range.")
        return None

"""AML parsing of SMS: one test per field error in a v1 text message, v2 network and accuracy
fields, and data SMS packing (fill septet, GSM alphabet and escape table).

Pure functions only: no database, no fixtures from a conftest.
"""

import base64
from datetime import UTC, datetime

import pytest

from geo.aml import parse_aml
from tests.aml_support import _gsm7_pack, _gsm7_pack_septets, _has_warning, _v1

# --- one test per field error -------------------------------------------------------------------


def test_well_formed_jakarta_message_parses_cleanly() -> None:
    fix = parse_aml(_v1())
    assert fix.warnings == ()
    assert fix.has_position is True
    assert (fix.lat, fix.lon, fix.radius_m) == (-6.2088, 106.8456, 25.0)
    assert fix.time_of_positioning_utc == datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    assert (fix.mcc, fix.mnc, fix.level_of_confidence_pct) == ("510", "10", 68)
    assert fix.length_matches is True and fix.caller_number is None


def test_bad_latitude_out_of_range() -> None:
    fix = parse_aml(_v1(lt="+91.00000"))
    assert fix.lat is None and fix.lon == 106.8456
    assert fix.has_position is False
    assert _has_warning(fix, "Latitude +91.00000 is outside -90..90")


def test_bad_longitude_out_of_range() -> None:
    fix = parse_aml(_v1(lg="-180.50000"))
    assert fix.lon is None and fix.lat == -6.2088
    assert fix.has_position is False
    assert _has_warning(fix, "Longitude -180.50000 is outside -180..180")


def test_swapped_latitude_and_longitude_is_flagged_not_fixed() -> None:
    fix = parse_aml(_v1(lt="+106.84560", lg="-6.20880"))
    assert _has_warning(fix, "look swapped")
    assert fix.lat is None  # 106.8 is not a latitude; we do not guess
    assert fix.lon == -6.2088
    assert fix.has_position is False


def test_in_range_swap_outside_indonesia_is_not_flagged() -> None:
    fix = parse_aml(_v1(lt="+3.00000", lg="+5.00000"))  # Gulf of Guinea: odd, but legal
    assert fix.warnings == () and fix.has_position is True


@pytest.mark.parametrize("radius", ["abc", "-5", "nan", "1e3"])
def test_bad_radius_drops_radius_but_keeps_position(radius: str) -> None:
    fix = parse_aml(_v1(rd=radius))
    assert fix.radius_m is None
    assert fix.has_position is True
    assert _has_warning(fix, "Radius")


def test_bad_time_of_positioning() -> None:
    fix = parse_aml(_v1(top="20261301083000"))  # month 13
    assert fix.time_of_positioning_utc is None
    assert _has_warning(fix, "Time of positioning '20261301083000'")
    assert fix.has_position is True


@pytest.mark.parametrize("confidence", ["101", "-1", "68.5", "high"])
def test_bad_confidence(confidence: str) -> None:
    fix = parse_aml(_v1(lc=confidence))
    assert fix.level_of_confidence_pct is None
    assert _has_warning(fix, f"Level of confidence {confidence!r}")


def test_bad_positioning_method_is_kept_and_flagged() -> None:
    fix = parse_aml(_v1(pm="X"))
    assert fix.positioning_method == "X"
    assert _has_warning(fix, "Unknown positioning method 'X'")
    assert fix.has_position is True


def test_wrong_ml_keeps_position_and_flags_it() -> None:
    message = _v1(ml=999)
    fix = parse_aml(message)
    assert (fix.declared_length_ml, fix.actual_length) == (999, len(message))
    assert fix.length_matches is False
    assert fix.has_position is True and fix.lat == -6.2088
    assert _has_warning(fix, "ml=999 does not match")


def test_non_numeric_ml() -> None:
    fix = parse_aml(_v1(ml=None).rsplit("=", 1)[0] + "=abc")
    assert fix.declared_length_ml is None and fix.length_matches is None
    assert _has_warning(fix, "ml 'abc' is not a whole number")


@pytest.mark.parametrize("version", ["3", "x", "", "01"])
def test_wrong_version_header_interprets_nothing(version: str) -> None:
    fix = parse_aml(_v1().replace('A"ML=1', f'A"ML={version}', 1))
    assert fix.version == version
    assert fix.transport == "sms-text"
    assert fix.lat is None and fix.lon is None and fix.has_position is False
    assert fix.warnings == (
        f"Unsupported AML version {version!r}: fields were not interpreted because their "
        "meaning depends on the version.",
    )


@pytest.mark.parametrize("no_location", [{"pm": "N"}, {"rd": "N"}])
def test_no_location_with_coordinates_is_not_a_position(no_location: dict[str, str]) -> None:
    fix = parse_aml(_v1(**no_location))
    assert fix.has_position is False
    assert _has_warning(fix, "no location")


def test_zero_zero_with_a_real_method_is_not_a_position() -> None:
    fix = parse_aml(_v1(lt="+00.00000", lg="+000.00000"))
    assert (fix.lat, fix.lon) == (0.0, 0.0)
    assert fix.has_position is False
    assert _has_warning(fix, "0,0 is a placeholder")


def test_duplicate_and_empty_fields_are_flagged() -> None:
    fix = parse_aml(_v1(ei=None, mnc="10;lt=+50.00000;ei="))
    assert fix.lat == -6.2088  # first value wins
    assert fix.imei is None
    assert _has_warning(fix, "Key 'lt' appears more than once")
    assert _has_warning(fix, "Field 'ei' is empty")
    assert fix.length_matches is True


def test_v2_zero_accuracy_means_unknown_and_bad_network_code() -> None:
    fix = parse_aml('A"ML=2;lo=-6.20880,106.84560,0;nc=51;ls=G')
    assert fix.radius_m is None and fix.has_position is True
    assert fix.mcc is None and _has_warning(fix, "Network code nc '51'")


@pytest.mark.parametrize("fill", [0x0D, 0x00])
def test_data_sms_fill_septet_is_dropped(fill: int) -> None:
    # A length of 8k+7 septets packs into a multiple of 7 octets ending in 7 fill bits.
    message = next(m for n in range(6, 14) if len(m := _v1(si="5" * n)) % 8 == 7)
    packed = bytearray(_gsm7_pack(message))
    packed[-1] = (packed[-1] & 0x01) | (fill << 1)
    fix = parse_aml(bytes(packed).hex())
    assert fix.actual_length == len(message) and fix.length_matches is True


def test_data_sms_uses_the_gsm_alphabet_and_its_escape_table() -> None:
    message = _v1(si="{1}", ei="@2")  # '{' is ESC 0x28 and '@' is 0x00 in GSM 03.38
    gsm = {"{": [0x1B, 0x28], "}": [0x1B, 0x29], "@": [0x00]}
    septets = [code for char in message for code in gsm.get(char, [ord(char)])]
    fix = parse_aml(base64.b64encode(_gsm7_pack_septets(septets)).decode())
    assert fix.transport == "sms-data-gsm7-base64"
    assert (fix.imsi, fix.imei) == ("{1}", "@2")
    assert fix.length_matches is True  # ml counts characters, not septets
    assert _has_warning(fix, "IMSI '{1}' is not all digits")
